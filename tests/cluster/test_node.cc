#include "tests/cluster/test_node.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <stdexcept>

namespace pigtail::testing {

TestNode::TestNode(const ReplicatorOptions* replication, bool potboiler_only, const ApiOptions& api,
                   size_t max_body_bytes, const std::string& log_uri,
                   const BackendOptions& backend) {
  ServerOptions options;
  options.log_uri = log_uri;
  options.backend = backend;
  options.http.port = 0;
  options.http.max_body_bytes = max_body_bytes;
  options.notifier->poll = std::chrono::milliseconds(50);
  options.api = api;
  if (replication != nullptr) {
    options.replication.emplace(*replication);
    options.advertise_bound_address = true;  // this node's URL, with the port picked
  }
  options.drain = std::chrono::milliseconds(1000);
  if (potboiler_only) {
    options.intercept = [](const HttpRequest& req, const HttpResponder& respond) {
      if (!req.target.starts_with("/log/range") && !req.target.starts_with("/log/batch") &&
          !req.target.starts_with("/health") && !req.target.starts_with("/replication")) {
        return false;
      }
      respond(HttpResponse{404, {}, "{\"error\":\"no entry\"}"});
      return true;
    };
  }
  Result<std::unique_ptr<Server>> server = Server::Start(std::move(options));
  if (!server.ok()) throw std::runtime_error(server.status().ToString());
  server_ = std::move(server).value();
  url_ = "http://127.0.0.1:" + std::to_string(server_->port());
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

boost::json::value Json(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body;
  return v;
}

}  // namespace pigtail::testing
