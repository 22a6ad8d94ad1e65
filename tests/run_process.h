// Runs a program, feeds it stdin and captures its stdout, stderr and exit status, for tests
// that drive the CLI. Header-only; POSIX (posix_spawn, pipes, poll).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

extern char** environ;

namespace suanli::test {

struct ProcessResult {
    int exit_code;  // the exit status, or 128 + the signal that ended it (as a shell reports)
    std::string out, err;
};

namespace detail {

[[noreturn]] inline void throw_errno(const char* what, int err = errno) {
    throw std::system_error(err, std::generic_category(), what);
}

struct Pipe {
    int fd[2] = {-1, -1};
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    Pipe() {
        if (pipe2(fd, O_CLOEXEC) != 0) throw_errno("run_process: pipe2");
    }
    ~Pipe() {
        close_end(0);
        close_end(1);
    }
    void close_end(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
};

// write() to a pipe whose reader has gone raises SIGPIPE; block it around the call and
// swallow the one it raised, so the caller only sees EPIPE.
inline ssize_t write_no_sigpipe(int fd, const char* data, size_t size) {
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = ::write(fd, data, size);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        timespec zero{};
        while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return n;
}

}  // namespace detail

// Runs argv[0] (searched in PATH if it has no '/') with the given arguments and the current
// environment. stdin gets `stdin_text` and then end-of-file. A child still running after
// `timeout` is killed (exit_code 128 + SIGKILL, and a note at the end of err). Throws
// std::system_error if the program cannot be started.
inline ProcessResult run_process(std::vector<std::string> argv, std::string stdin_text = "",
                                 std::chrono::milliseconds timeout = std::chrono::minutes(5)) {
    if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
    detail::Pipe in, out, err;

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.fd[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
    // The child starts with no signals blocked and SIGPIPE at its default.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) detail::throw_errno(("run_process: cannot start " + argv[0]).c_str(), rc);
    in.close_end(0);
    out.close_end(1);
    err.close_end(1);
    if (stdin_text.empty()) in.close_end(1);
    if (in.fd[1] >= 0) fcntl(in.fd[1], F_SETFL, fcntl(in.fd[1], F_GETFL) | O_NONBLOCK);

    ProcessResult result{0, "", ""};
    size_t written = 0;
    bool timed_out = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.fd[0] >= 0 || err.fd[0] >= 0) {
        pollfd fds[3];
        nfds_t n = 0;
        for (int fd : {out.fd[0], err.fd[0]})
            if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
        if (in.fd[1] >= 0) fds[n++] = {in.fd[1], POLLOUT, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0) {
            if (errno == EINTR) continue;
            detail::throw_errno("run_process: poll");
        }
        for (nfds_t i = 0; i < n; ++i) {
            if (fds[i].revents == 0) continue;
            if (fds[i].fd == in.fd[1]) {
                ssize_t w = detail::write_no_sigpipe(in.fd[1], stdin_text.data() + written,
                                                     stdin_text.size() - written);
                if (w > 0) written += static_cast<size_t>(w);
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_text.size())
                    in.close_end(1);  // done, or the child stopped reading
                continue;
            }
            bool is_out = fds[i].fd == out.fd[0];
            char buf[65536];
            ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
            if (r > 0) {
                (is_out ? result.out : result.err).append(buf, static_cast<size_t>(r));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                (is_out ? out : err).close_end(0);
            }
        }
    }
    in.close_end(1);
    if (timed_out) {
        ::kill(pid, SIGKILL);
        result.err += "\n[run_process: killed after the timeout]\n";
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) detail::throw_errno("run_process: waitpid");
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
    return result;
}

}  // namespace suanli::test
