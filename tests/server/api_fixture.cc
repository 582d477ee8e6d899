#include "tests/server/api_fixture.h"

#include <boost/json.hpp>
#include <future>

#include "core/memory_store.h"

namespace pigtail::testing {

SequencerOptions ApiFixture::Ticking() {
  SequencerOptions options;
  options.wait_tick = std::chrono::milliseconds(10);
  return options;
}

void ApiFixture::Open(const ApiOptions& options, SequencerOptions sequencer,
                      std::unique_ptr<EventStore> log) {
  ServerOptions server;
  server.http.host = "127.0.0.1";
  server.http.port = 0;
  server.http.threads = 1;
  server.log = log ? std::move(log) : NewMemoryEventStore();
  server.state = std::move(state_);
  server.node.physical = [this] { return now_ns_.load(); };
  server.node.drop_finished = drop_finished_;
  server.sequencer = sequencer;
  server.notifier.reset();
  server.api = options;
  server.drain = std::chrono::milliseconds(0);
  Result<std::unique_ptr<Server>> started = Server::Start(std::move(server));
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  server_ = std::move(started).value();
}

void ApiFixture::Close() { server_.reset(); }

HttpResponse ApiFixture::Call(std::string method, std::string target, std::string body,
                              HttpHeaders headers) {
  HttpRequest req{std::move(method), std::move(target), std::move(headers), std::move(body)};
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = promise->get_future();
  api()->Handle(std::move(req), [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "no response within 10 s";
    return HttpResponse{599, {}, ""};
  }
  return future.get();
}

boost::json::value ApiFixture::Body(const HttpResponse& r) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << r.body;
  return v;
}

void ApiFixture::CreateQueue(const std::string& name, const std::string& extra) {
  HttpResponse r =
      Call("POST", "/create", "{\"name\":\"" + name + "\",\"timeout_ms\":1000" + extra + "}");
  ASSERT_EQ(r.status, 201) << r.body;
}

std::string ApiFixture::AddTask(const std::string& queue, const std::string& body) {
  HttpResponse r = Call("POST", "/queue/" + queue, body);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? std::string(Body(r).at("id").as_string()) : std::string();
}

}  // namespace pigtail::testing
