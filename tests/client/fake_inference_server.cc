#include "tests/client/fake_inference_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace lion::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Runs callbacks at their due time on one thread.
class Timer {
 public:
  Timer() : thread_([this] { Loop(); }) {}
  ~Timer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void After(std::chrono::microseconds delay, std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      due_.emplace(Clock::now() + delay, std::move(fn));
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_ || !due_.empty()) {
      if (due_.empty()) {
        cv_.wait(lock);
      } else if (due_.begin()->first > Clock::now()) {
        cv_.wait_until(lock, due_.begin()->first);
      } else {
        auto fn = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        lock.unlock();
        fn();
        lock.lock();
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::function<void()>> due_;
  bool stop_ = false;
  std::thread thread_;
};

std::shared_ptr<grpc::ServerCredentials> MakeCredentials(const FakeServerOptions& o) {
  if (o.tls_cert_pem.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      o.tls_client_ca_pem.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = o.tls_client_ca_pem;
  ssl.pem_key_cert_pairs.push_back({o.tls_key_pem, o.tls_cert_pem});
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

class FakeInferenceServer::Impl final : public v1::Inference::CallbackService,
                                        public v1::Models::Service {
 public:
  explicit Impl(const FakeServerOptions& options) : options_(options) {}

  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* c, const v1::ClassifyRequest* q,
                                     v1::ClassifyResponse* r) override {
    auto* p = r->add_predictions();
    p->set_label("cat");
    p->set_score(0.75f);
    return Unary(c, *q, r);
  }
  grpc::ServerUnaryReactor* Embed(grpc::CallbackServerContext* c, const v1::EmbedRequest* q,
                                  v1::EmbedResponse* r) override {
    for (float v : {0.5f, -1.0f, 2.0f}) r->add_embedding(v);
    return Unary(c, *q, r);
  }
  grpc::ServerUnaryReactor* FillMask(grpc::CallbackServerContext* c, const v1::FillMaskRequest* q,
                                     v1::FillMaskResponse* r) override {
    auto* m = r->add_masks();
    m->set_position(1);
    auto* cand = m->add_candidates();
    cand->set_token("paris");
    cand->set_id(42);
    cand->set_score(0.5f);
    return Unary(c, *q, r);
  }
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* c, const v1::TokenizeRequest* q,
                                     v1::TokenizeResponse* r) override {
    r->add_ids(101);
    r->add_tokens("[CLS]");
    return Unary(c, *q, r);
  }
  grpc::ServerBidiReactor<v1::ClassifyRequest, v1::ClassifyResponse>* ClassifyStream(
      grpc::CallbackServerContext*) override {
    return new EchoStream<v1::ClassifyRequest, v1::ClassifyResponse>();
  }
  grpc::ServerBidiReactor<v1::EmbedRequest, v1::EmbedResponse>* EmbedStream(
      grpc::CallbackServerContext*) override {
    return new EchoStream<v1::EmbedRequest, v1::EmbedResponse>();
  }

  grpc::Status ListModels(grpc::ServerContext*, const v1::ListModelsRequest*,
                          v1::ListModelsResponse* r) override {
    r->add_models()->set_name("fake");
    return grpc::Status::OK;
  }
  grpc::Status GetModel(grpc::ServerContext*, const v1::GetModelRequest* q,
                        v1::ModelInfo* r) override {
    if (q->name() != "fake")
      return {grpc::StatusCode::NOT_FOUND, "model '" + q->name() + "' not found"};
    r->set_name("fake");
    return grpc::Status::OK;
  }

  std::unique_ptr<grpc::Server> server;
  std::string address;
  std::atomic<int64_t> requests{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> max_in_flight{0};
  mutable std::mutex mu;
  std::vector<double> delays_us;  // guarded by mu
  std::string authorization;      // guarded by mu

 private:
  // Replies with each request's id, in order, one write at a time.
  template <typename Request, typename Response>
  class EchoStream : public grpc::ServerBidiReactor<Request, Response> {
   public:
    EchoStream() { this->StartRead(&request_); }
    void OnReadDone(bool ok) override {
      if (!ok) return this->Finish(grpc::Status::OK);
      response_.Clear();
      response_.set_id(request_.id());
      this->StartWrite(&response_);
    }
    void OnWriteDone(bool ok) override {
      if (!ok) return this->Finish(grpc::Status::CANCELLED);
      this->StartRead(&request_);
    }
    void OnDone() override { delete this; }

   private:
    Request request_;
    Response response_;
  };

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* c, const Request& q, Response* r) {
    auto* reactor = c->DefaultReactor();
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto it = c->client_metadata().find("authorization");
      authorization =
          it == c->client_metadata().end() ? "" : std::string(it->second.data(), it->second.size());
    }
    const int64_t n = requests++;
    if (n < options_.unavailable_first) {
      reactor->Finish({grpc::StatusCode::UNAVAILABLE, "warming up"});
      return reactor;
    }
    if (options_.fail_every > 0 && (n + 1) % options_.fail_every == 0) {
      reactor->Finish({grpc::StatusCode::RESOURCE_EXHAUSTED, "queue full"});
      return reactor;
    }
    if (!q.model().empty() && q.model() != "fake") {
      reactor->Finish({grpc::StatusCode::NOT_FOUND, "model '" + q.model() + "' not found"});
      return reactor;
    }
    r->set_id(q.id());
    r->set_model("fake");
    const std::chrono::microseconds delay = options_.delay(n);
    if constexpr (requires { r->mutable_usage(); }) {
      r->mutable_usage()->set_queue_us(delay.count() / 2);
      r->mutable_usage()->set_compute_us(delay.count() - delay.count() / 2);
      r->mutable_usage()->set_total_us(delay.count());
    }
    const int64_t now_in_flight = ++in_flight;
    for (int64_t m = max_in_flight.load();
         now_in_flight > m && !max_in_flight.compare_exchange_weak(m, now_in_flight);) {
    }
    timer_.After(delay, [this, reactor, delay] {
      --in_flight;
      {
        std::lock_guard<std::mutex> lock(mu);
        delays_us.push_back(static_cast<double>(delay.count()));
      }
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  const FakeServerOptions options_;
  Timer timer_;
};

std::unique_ptr<FakeInferenceServer> FakeInferenceServer::Start(const FakeServerOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", MakeCredentials(options), &port);
  builder.RegisterService(static_cast<v1::Inference::CallbackService*>(impl.get()));
  builder.RegisterService(static_cast<v1::Models::Service*>(impl.get()));
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) return nullptr;
  impl->address = "127.0.0.1:" + std::to_string(port);
  return std::unique_ptr<FakeInferenceServer>(new FakeInferenceServer(std::move(impl)));
}

FakeInferenceServer::FakeInferenceServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FakeInferenceServer::~FakeInferenceServer() {
  impl_->server->Shutdown(std::chrono::system_clock::now());
}

const std::string& FakeInferenceServer::address() const { return impl_->address; }
int64_t FakeInferenceServer::requests() const { return impl_->requests.load(); }
int64_t FakeInferenceServer::max_in_flight() const { return impl_->max_in_flight.load(); }
std::vector<double> FakeInferenceServer::delays_us() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->delays_us;
}
std::string FakeInferenceServer::last_authorization() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->authorization;
}

}  // namespace lion::testing
