#include "tests/testutil/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace mailhealth::testing {
namespace {

std::string& LastError() {
  static std::string e;
  return e;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool BindsTo(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

}  // namespace

uint16_t FreeLoopbackPort() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    close(fd);
    uint16_t port = ntohs(a.sin_port);
    if (port != 0 && BindsTo(SOCK_STREAM, port) && BindsTo(SOCK_DGRAM, port)) {
      return port;
    }
  }
  return 0;
}

const std::string& DnsServer::last_error() { return LastError(); }

std::unique_ptr<DnsServer> DnsServer::Start(const std::vector<TestZone>& zones,
                                            bool query_log) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/mailhealth-named-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    LastError() = "mkdtemp failed";
    return nullptr;
  }
  std::unique_ptr<DnsServer> srv(new DnsServer());
  srv->dir_ = tmpl;
  const std::string& dir = srv->dir_;

  for (int attempt = 0; attempt < 3; ++attempt) {
    srv->port_ = FreeLoopbackPort();
    std::ofstream conf(dir + "/named.conf");
    conf << "options {\n"
         << "  directory \"" << dir << "\";\n"
         << "  pid-file \"" << dir << "/named.pid\";\n"
         << "  lock-file \"" << dir << "/named.lock\";\n"
         << "  session-keyfile \"" << dir << "/session.key\";\n"
         << "  managed-keys-directory \"" << dir << "\";\n"
         << "  listen-on port " << srv->port_ << " { 127.0.0.1; };\n"
         << "  listen-on-v6 port " << srv->port_ << " { ::1; };\n"
         << "  recursion no;\n"
         << "  dnssec-validation no;\n"
         << "  notify no;\n"
         << "  check-integrity no;\n"
         << "  check-names primary ignore;\n"
         << (query_log ? "  querylog yes;\n" : "") << "};\n"
         << "controls { };\n";
    for (const auto& z : zones) {
      const std::string file = z.name + ".zone";
      conf << "zone \"" << z.name << "\" { type primary; file \"" << file
           << "\"; };\n";
      std::ofstream zf(dir + "/" + file);
      if (z.broken) {
        zf << "this is not a zone file !!!\n";
        continue;
      }
      if (!z.file.empty()) {
        zf << ReadFile(z.file);
        continue;
      }
      zf << "$TTL 300\n$ORIGIN " << z.name << ".\n"
         << "@ IN SOA ns." << z.name << ". hostmaster." << z.name
         << ". 1 3600 600 86400 300\n"
         << "@ IN NS ns\nns IN A 127.0.0.1\n"
         << z.body << "\n";
    }
    conf.close();

    const std::string log = dir + "/named.log";
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      const std::string c = dir + "/named.conf";
      execlp("named", "named", "-g", "-n", "1", "-c", c.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    srv->pid_ = pid;
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < until) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {
        srv->pid_ = -1;
        break;
      }
      std::string text = ReadFile(log);
      if (text.find("\nrunning") != std::string::npos ||
          text.find(" running\n") != std::string::npos) {
        return srv;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    LastError() = "named did not start (port " + std::to_string(srv->port_) +
                  "):\n" + ReadFile(log);
    srv->Stop();
    if (LastError().find("address in use") == std::string::npos) break;
  }
  return nullptr;
}

int DnsServer::QueryCount(const std::string& qname) const {
  // named -g logs queries to stderr: "... query: NAME IN TYPE +..."
  std::string text = ReadFile(dir_ + "/named.log");
  std::string needle = "query: " + qname + " IN ";
  auto lower = [](std::string v) {
    for (auto& c : v)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return v;
  };
  text = lower(text);
  needle = lower(needle);
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos;
       p = text.find(needle, p + 1))
    ++n;
  return n;
}

void DnsServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 150; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

DnsServer::~DnsServer() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace mailhealth::testing
