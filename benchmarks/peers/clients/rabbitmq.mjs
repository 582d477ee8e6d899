// RabbitMQ quorum queue over AMQP 0-9-1 (amqplib). Producers publish
// persistent messages on confirm channels: one message then its confirm
// (the quorum queue confirms once the Raft log entry is fsynced), or a
// batch of messages then waitForConfirms. Consumers take deliveries with
// manual acks and prefetch --fetch. Every connection is its own TCP
// connection. AMQP does not confirm acks, so the process workload ends when
// every message was acked and then, on each consumer's channel, a
// basic.get on the queue came back empty: the queue handles one channel's
// commands in order, so by then it has applied (committed to its fsynced
// Raft log) every ack sent before. (Closing the channels right after the
// acks instead let the broker redeliver some acked messages later.)
import amqp from 'amqplib';
import { Countdown, JOB, runWorkloads } from './common.mjs';

const BODY = Buffer.from(JSON.stringify(JOB));
let url;
let queue;
let admin;
let producers = [];
let sequence = 0;

function publish(ch, id) {
  return new Promise((resolve, reject) => {
    ch.sendToQueue(queue, BODY, { persistent: true, messageId: id }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

// Opens `o.consumers` connections that consume with manual acks; onMessage
// gets each delivery's messageId before it is acked. Returns
// { drain, close }: drain cancels the consumers and waits until the queue
// applied their acks (an empty basic.get on each channel).
async function startConsumers(o, onMessage) {
  const conns = await Promise.all(Array.from({ length: o.consumers }, () => amqp.connect(url)));
  const channels = await Promise.all(conns.map((c) => c.createChannel()));
  const tags = [];
  for (const ch of channels) {
    await ch.prefetch(o.fetch);
    const { consumerTag } = await ch.consume(
      queue,
      (msg) => {
        if (msg === null) return;
        onMessage(msg.properties.messageId);
        ch.ack(msg);
      },
      { noAck: false },
    );
    tags.push(consumerTag);
  }
  const drain = () =>
    Promise.all(
      channels.map(async (ch, i) => {
        await ch.cancel(tags[i]);
        if ((await ch.get(queue)) !== false) throw new Error('a message was left in the queue');
      }),
    );
  const close = async () => {
    await Promise.all(channels.map((ch) => ch.close()));
    await Promise.all(conns.map((c) => c.close()));
  };
  return { drain, close };
}

let version = '';

await runWorkloads({
  name: (o) => `RabbitMQ quorum queue, prefetch ${o.fetch}`,
  get version() {
    return version;
  },
  async setup(o) {
    url = o.url;
    admin = await amqp.connect(url);
    version = String(admin.connection.serverProperties.version || '');
    const ch = await admin.createChannel();
    queue = `hello-${process.pid}`;
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.close();
    producers = await Promise.all(
      Array.from({ length: o.producers }, async () => {
        const conn = await amqp.connect(url);
        return { conn, ch: await conn.createConfirmChannel() };
      }),
    );
  },
  async teardown() {
    for (const p of producers) await p.conn.close();
    await admin.close();
  },
  async addOne(producer) {
    const id = String(++sequence);
    await publish(producers[producer].ch, id);
    return id;
  },
  async addBatch(producer, n) {
    const { ch } = producers[producer];
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, BODY, { persistent: true, messageId: String(++sequence) });
    await ch.waitForConfirms();
  },
  async processAll(o, total) {
    const acked = new Countdown(total);
    const consumers = await startConsumers(o, () => acked.add());
    await acked.reached;
    await consumers.drain();
    return consumers.close;
  },
  async startLatencyConsumers(o, onStarted) {
    const consumers = await startConsumers(o, onStarted);
    return async () => {
      await consumers.drain();
      await consumers.close();
    };
  },
});
