#include "tests/cluster/test_node.h"

#include <boost/json.hpp>
#include <stdexcept>

namespace pigtail::testing {

TestNode::TestNode(const ReplicatorOptions* replication, bool potboiler_only, const ApiOptions& api,
                   size_t max_body_bytes, std::unique_ptr<EventStore> log) {
  if (log == nullptr) log = NewMemoryEventStore();
  auto node = Node::Open(std::move(log), NewMemoryStateStore(), NodeOptions());
  if (!node.ok()) throw std::runtime_error(node.status().ToString());
  node_ = std::move(node).value();
  sequencer_ = std::make_unique<Sequencer>(node_.get(), SequencerOptions());
  NotifierOptions notify;
  notify.poll = std::chrono::milliseconds(50);
  notifier_ = std::make_unique<Notifier>(node_.get(), notify);
  api_ = std::make_unique<Api>(node_.get(), sequencer_.get(), notifier_.get(), &metrics_, api);
  HttpServerOptions http;
  http.port = 0;
  http.max_body_bytes = max_body_bytes;
  auto server =
      HttpServer::Start(http, [this, potboiler_only](HttpRequest req, HttpResponder respond) {
        if (potboiler_only &&
            (req.target.starts_with("/log/range") || req.target.starts_with("/log/batch") ||
             req.target.starts_with("/health") || req.target.starts_with("/replication"))) {
          return respond(HttpResponse{404, {}, "{\"error\":\"no entry\"}"});
        }
        api_->Handle(std::move(req), std::move(respond));
      });
  if (!server.ok()) throw std::runtime_error(server.status().ToString());
  server_ = std::move(server).value();
  url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  if (replication != nullptr) {
    ReplicatorOptions options = *replication;
    options.advertise_url = url_;
    options.peer_token = api.peer_token;
    replicator_ = std::make_unique<Replicator>(node_.get(), sequencer_.get(), options);
    api_->set_replicator(replicator_.get());
  }
  sequencer_->set_on_applied([r = replicator_.get(), n = notifier_.get()] {
    n->EntriesAppended();
    if (r != nullptr) r->Wake();
  });
  sequencer_->Start();
  notifier_->Start();
  if (replicator_) replicator_->Start();
}

TestNode::~TestNode() {
  if (replicator_) replicator_->Stop();
  sequencer_->BeginShutdown();
  server_->Shutdown(std::chrono::milliseconds(1000));
  sequencer_->Stop();
  notifier_->Stop();
}

HttpResponse TestNode::Call(const std::string& method, const std::string& target,
                            const std::string& body, const HttpHeaders& headers) {
  Result<HttpResponse> r = SendHttpRequest(method, url_ + target, body, headers);
  if (!r.ok()) return HttpResponse{0, {}, r.status().ToString()};
  return std::move(r).value();
}

std::string TestNode::Digest() {
  HttpResponse r = Call("GET", "/digest");
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("total")) return "error: " + r.body;
  return std::string(v.at("total").as_string());
}

}  // namespace pigtail::testing
