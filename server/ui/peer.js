// Framed (hidden) by another node's dashboard: reads this node's GET
// /digest and GET /health and posts them back, since the dashboard cannot
// read another origin itself. The parent may send the token to use.
'use strict';

window.addEventListener('message', async (event) => {
  const ask = event.data;
  if (!ask || ask.type !== 'pigtail-digest' || !event.source) return;
  const headers = ask.token ? { Authorization: 'Bearer ' + ask.token } : {};
  const reply = { type: 'pigtail-digest-reply', seq: ask.seq };
  try {
    const health = await fetch('/health');
    if (health.ok) reply.node_id = (await health.json()).node_id;
    const digest = await fetch('/digest', { headers });
    reply.status = digest.status;
    if (digest.ok) reply.digest = await digest.json();
  } catch (e) {
    reply.status = 0;
    reply.error = String(e);
  }
  event.source.postMessage(reply, event.origin);
});
