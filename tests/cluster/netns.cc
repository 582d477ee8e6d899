#include "tests/cluster/netns.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pigtail::testing {

int RunCommand(const std::vector<std::string>& args, std::string* output,
               std::chrono::milliseconds limit) {
  char out_path[] = "/tmp/pigtail-cmd-XXXXXX";
  int fd = mkstemp(out_path);
  if (fd < 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, 1);
  posix_spawn_file_actions_adddup2(&actions, fd, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  int code = -1;
  if (rc == 0) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (output != nullptr) {
    std::ifstream in(out_path);
    std::stringstream text;
    text << in.rdbuf();
    *output = text.str();
  }
  unlink(out_path);
  return code;
}

namespace {

Status Ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  int code = RunCommand(argv, &out);
  if (code != 0) {
    std::string line;
    for (const std::string& a : argv) line += a + " ";
    return Status::FailedPrecondition(line + "failed (" + std::to_string(code) + "): " + out);
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TestNetwork>> TestNetwork::Create(int nodes) {
  if (geteuid() != 0) {
    return Status::FailedPrecondition(
        "the partition harness needs root (it creates network namespaces with `ip netns`)");
  }
  std::unique_ptr<TestNetwork> net(new TestNetwork(nodes));
  PIGTAIL_RETURN_IF_ERROR(net->Setup());
  return net;
}

std::string TestNetwork::address(int i) const {
  return "10.213." + std::to_string(subnet_) + "." + std::to_string(11 + i);
}

std::string TestNetwork::Device(int i) const { return prefix_ + "p" + std::to_string(i); }

Status TestNetwork::Setup() {
  // A subnet no interface uses yet (another run may hold one).
  std::string addrs;
  if (RunCommand({"ip", "-o", "-4", "addr", "show"}, &addrs) != 0) {
    return Status::FailedPrecondition("`ip addr show` failed: " + addrs);
  }
  // Links of a namespace being deleted may linger for a moment: skip
  // their names too.
  std::string links;
  if (RunCommand({"ip", "-o", "link", "show"}, &links) != 0) {
    return Status::FailedPrecondition("`ip link show` failed: " + links);
  }
  int start = 20 + static_cast<int>(getpid() % 200);
  for (int k = 0; k < 200 && subnet_ == 0; ++k) {
    int s = 20 + (start - 20 + k) % 200;
    std::string name = " pt" + std::to_string(s);
    if (addrs.find("10.213." + std::to_string(s) + ".") == std::string::npos &&
        links.find(name + "h") == std::string::npos &&
        links.find(name + "br") == std::string::npos) {
      subnet_ = s;
    }
  }
  if (subnet_ == 0) return Status::FailedPrecondition("no free 10.213.x.0/24 test subnet");
  prefix_ = "pt" + std::to_string(subnet_);
  bridge_ = prefix_ + "br";
  cut_.assign(nodes_, std::vector<bool>(nodes_, false));
  PIGTAIL_RETURN_IF_ERROR(Ip({"link", "add", bridge_, "type", "bridge"}));
  PIGTAIL_RETURN_IF_ERROR(
      Ip({"addr", "add", "10.213." + std::to_string(subnet_) + ".1/24", "dev", bridge_}));
  PIGTAIL_RETURN_IF_ERROR(Ip({"link", "set", bridge_, "up"}));
  for (int i = 0; i < nodes_; ++i) {
    std::string ns = prefix_ + "n" + std::to_string(i);
    std::string host_end = prefix_ + "h" + std::to_string(i);
    PIGTAIL_RETURN_IF_ERROR(Ip({"netns", "add", ns}));
    namespaces_.push_back(ns);
    PIGTAIL_RETURN_IF_ERROR(
        Ip({"link", "add", host_end, "type", "veth", "peer", "name", Device(i), "netns", ns}));
    PIGTAIL_RETURN_IF_ERROR(Ip({"link", "set", host_end, "master", bridge_}));
    PIGTAIL_RETURN_IF_ERROR(Ip({"link", "set", host_end, "up"}));
    PIGTAIL_RETURN_IF_ERROR(Ip({"-n", ns, "link", "set", "lo", "up"}));
    PIGTAIL_RETURN_IF_ERROR(Ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", Device(i)}));
    PIGTAIL_RETURN_IF_ERROR(Ip({"-n", ns, "link", "set", Device(i), "up"}));
  }
  return Status::Ok();
}

TestNetwork::~TestNetwork() {
  // The root ends first: deleting a namespace frees its links later.
  for (size_t i = 0; i < namespaces_.size(); ++i) {
    (void)Ip({"link", "del", prefix_ + "h" + std::to_string(i)});
  }
  for (const std::string& ns : namespaces_) (void)Ip({"netns", "del", ns});
  if (!bridge_.empty()) (void)Ip({"link", "del", bridge_});
}

Status TestNetwork::Pin(int from, int to, bool cut) {
  const std::string& ns = namespaces_.at(from);
  if (cut) {
    // A locally administered MAC no interface has: frames go nowhere.
    return Ip({"-n", ns, "neigh", "replace", address(to), "lladdr", "02:00:00:00:de:ad", "dev",
               Device(from), "nud", "permanent"});
  }
  return Ip({"-n", ns, "neigh", "del", address(to), "dev", Device(from)});
}

Status TestNetwork::Cut(int i, int j) {
  if (cut_.at(i).at(j)) return Status::Ok();
  PIGTAIL_RETURN_IF_ERROR(Pin(i, j, true));
  PIGTAIL_RETURN_IF_ERROR(Pin(j, i, true));
  cut_[i][j] = cut_[j][i] = true;
  return Status::Ok();
}

Status TestNetwork::Heal(int i, int j) {
  if (!cut_.at(i).at(j)) return Status::Ok();
  PIGTAIL_RETURN_IF_ERROR(Pin(i, j, false));
  PIGTAIL_RETURN_IF_ERROR(Pin(j, i, false));
  cut_[i][j] = cut_[j][i] = false;
  return Status::Ok();
}

Status TestNetwork::HealAll() {
  for (int i = 0; i < nodes_; ++i) {
    for (int j = i + 1; j < nodes_; ++j) PIGTAIL_RETURN_IF_ERROR(Heal(i, j));
  }
  return Status::Ok();
}

Status TestNetwork::Isolate(const std::vector<int>& side) {
  auto in = [&](int i) { return std::find(side.begin(), side.end(), i) != side.end(); };
  for (int i = 0; i < nodes_; ++i) {
    for (int j = 0; j < nodes_; ++j) {
      if (in(i) && !in(j)) PIGTAIL_RETURN_IF_ERROR(Cut(i, j));
    }
  }
  return Status::Ok();
}

}  // namespace pigtail::testing
