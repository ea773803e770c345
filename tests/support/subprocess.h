// Starting the real binaries from tests.
#ifndef THESIS_TESTS_SUPPORT_SUBPROCESS_H_
#define THESIS_TESTS_SUPPORT_SUBPROCESS_H_

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace thesis::testing {

// A child process whose stdout can be read line by line.
class Subprocess {
 public:
  // `env` entries (NAME=value) are added to this process's environment.
  Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.push_back(*e);
    for (const std::string& e : env) env_strings.push_back(e);
    std::vector<char*> envp, args;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (std::string& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Subprocess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
  }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Next line of stdout without the newline; false at end of stream.
  bool ReadLine(std::string* line) {
    line->clear();
    if (out_ == nullptr) return false;
    int c;
    while ((c = fgetc(out_)) != EOF && c != '\n') line->push_back(static_cast<char>(c));
    return c != EOF || !line->empty();
  }

  void Signal(int sig) { kill(pid_, sig); }

  // Exit code, or 128 + signal.
  int Wait() {
    if (waited_) return exit_code_;
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  bool waited_ = false;
  int exit_code_ = -1;
};

}  // namespace thesis::testing

#endif  // THESIS_TESTS_SUPPORT_SUBPROCESS_H_
