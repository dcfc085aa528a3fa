/* gnuplot.c - running gnuplot: posix_spawnp with pipes for its standard input (the script and
 * inline data) and standard error (its messages), SIGPIPE blocked in this thread while writing,
 * the child always reaped. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nabla/plot.h"
#include "plot_internal.h"

extern char **environ;

static void say(char *msg, size_t len, const char *fmt, const char *a, const char *b) {
    if (msg && len) snprintf(msg, len, fmt, a, b);
}

/* Moves *fd to a descriptor >= 3 (close-on-exec) when it is 0, 1 or 2. 0 or -1 (errno set). */
static int high_fd(int *fd) {
    if (*fd >= 3) return 0;
    int h = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
    if (h < 0) return -1;
    close(*fd);
    *fd = h;
    return 0;
}

/* Runs gnuplot (with -persist when asked) on script[0 .. len-1]; its stdout is ours (a text plot
 * lands there) unless capture is set, in which case nothing is inherited and its stderr is kept in
 * captured (NUL-terminated, at most capsize - 1 bytes). Returns NB_OK, NB_E_NOTFOUND,
 * NB_E_CHILD (with gnuplot's first message line in msg) or NB_E_IO / NB_E_NOMEM. */
static nb_status run(const char *script, size_t len, int persist, char *captured, size_t capsize,
                     char *msg, size_t msglen) {
    /* close-on-exec from the start (no other thread's child inherits them), and all at 3 or
     * above, so that the dup2 onto 0 and 2 never meets one of its own sources (a caller that closed
     * its standard input would get pipe ends numbered 0..2) */
    int in[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || high_fd(&in[0]) || high_fd(&in[1]) ||
        high_fd(&err[0]) || high_fd(&err[1])) {
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (err[i] >= 0) close(err[i]);
        }
        say(msg, msglen, "cannot make a pipe for gnuplot: %s%s", strerror(errno), "");
        return NB_E_IO;
    }
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) {
        close(in[0]), close(in[1]), close(err[0]), close(err[1]);
        return NB_E_NOMEM;
    }
    /* dup2 clears close-on-exec on 0 and 2; every pipe end itself closes at exec */
    if (posix_spawn_file_actions_adddup2(&fa, in[0], 0) ||
        posix_spawn_file_actions_adddup2(&fa, err[1], 2)) {
        posix_spawn_file_actions_destroy(&fa);
        close(in[0]), close(in[1]), close(err[0]), close(err[1]);
        return NB_E_NOMEM;
    }
    char *argv[3] = {"gnuplot", persist ? "-persist" : NULL, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(err[1]);
    if (rc) {
        close(in[1]);
        close(err[0]);
        if (rc == ENOENT) {
            say(msg, msglen,
                "gnuplot not found: install it (Debian: apt-get install gnuplot-nox), or use "
                "--data for the table without gnuplot%s%s", "", "");
            return NB_E_NOTFOUND;
        }
        say(msg, msglen, "cannot start gnuplot: %s%s", strerror(rc), "");
        return NB_E_CHILD;
    }

    /* Feed the script and collect stderr together, so that neither pipe can fill up and block
     * the other. SIGPIPE is blocked in this thread only: an early exit of gnuplot is EPIPE. */
    sigset_t pipeset, old;
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeset, &old);
    sigset_t pending_before;
    sigpending(&pending_before);
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    size_t off = 0, got = 0;
    char ebuf[4096];
    int in_open = 1, err_open = 1, broken = 0;
    if (len == 0) {
        close(in[1]);
        in_open = 0;
    }
    while (in_open || err_open) {
        struct pollfd fds[2];
        int nf = 0, ii = -1, ei = -1;
        if (in_open) ii = nf, fds[nf].fd = in[1], fds[nf].events = POLLOUT, fds[nf++].revents = 0;
        if (err_open) ei = nf, fds[nf].fd = err[0], fds[nf].events = POLLIN, fds[nf++].revents = 0;
        if (poll(fds, (nfds_t)nf, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (ii >= 0 && fds[ii].revents) {
            ssize_t w = write(in[1], script + off, len - off > 65536 ? 65536 : len - off);
            if (w > 0) off += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR) broken = 1; /* EPIPE: gnuplot left */
            if (broken || off == len) {
                close(in[1]);
                in_open = 0;
            }
        }
        if (ei >= 0 && fds[ei].revents) {
            ssize_t r = read(err[0], ebuf, sizeof ebuf);
            if (r > 0) {
                if (captured && got + 1 < capsize) {
                    size_t k = (size_t)r < capsize - 1 - got ? (size_t)r : capsize - 1 - got;
                    memcpy(captured + got, ebuf, k);
                    got += k;
                    captured[got] = 0;
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(err[0]);
                err_open = 0;
            }
        }
    }
    if (in_open) close(in[1]);
    if (err_open) close(err[0]);
    /* consume a SIGPIPE this thread raised, then restore the mask */
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&pending_before, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipeset, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (w != pid) {
        /* the child was reaped elsewhere (a SIGCHLD handler set to SIG_IGN, say): no exit status */
        say(msg, msglen, "cannot wait for gnuplot: %s%s", strerror(errno), "");
        return NB_E_CHILD;
    }
    if (WIFSIGNALED(status)) {
        char sig[16];
        snprintf(sig, sizeof sig, "%d", WTERMSIG(status));
        say(msg, msglen, "gnuplot was killed by signal %s%s", sig, "");
        return NB_E_CHILD;
    }
    if (WEXITSTATUS(status) != 0 || broken) {
        /* gnuplot's first non-empty line of stderr says why */
        char line[200] = "";
        if (captured) {
            const char *s = captured;
            while (*s == '\n' || *s == ' ') s++;
            size_t k = strcspn(s, "\n");
            if (k >= sizeof line) k = sizeof line - 1;
            memcpy(line, s, k);
            line[k] = 0;
        }
        say(msg, msglen, "gnuplot failed%s%s", line[0] ? ": " : "", line);
        return NB_E_CHILD;
    }
    return NB_OK;
}

/* 1 when path can be written: an existing file we may write, or a new file in a directory we may
 * write to. */
static int writable(const char *path, char *why, size_t whylen) {
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(why, whylen, "is a directory");
            return 0;
        }
        if (access(path, W_OK) != 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            return 0;
        }
        return 1;
    }
    if (errno != ENOENT) {
        snprintf(why, whylen, "%s", strerror(errno));
        return 0;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "no such directory");
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return 0;
    }
    return 1;
}

/* A window terminal gnuplot offers (qt, wxt, x11), or NULL. */
static const char *window_terminal(void) {
    static const char probe[] = "print GPVAL_TERMINALS\n"; /* print writes to stderr */
    char out[4096] = "";
    if (run(probe, sizeof probe - 1, 0, out, sizeof out, NULL, 0)) return NULL;
    static const char *const wins[] = {"qt", "wxt", "x11"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(wins[i]);
        for (const char *s = out; (s = strstr(s, wins[i])) != NULL; s += n)
            if ((s == out || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\n' || s[n] == 0)) return wins[i];
    }
    return NULL;
}

nb_status nb_plot_render(const nb_plot *p0, const nb_plot_data *d, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!p0 || !d) return NB_E_ARG;
    nb_plot p = *p0;
    int persist = 0;
    nb_status bad = nb__plot_check(&p, d, msg, msglen);
    if (bad) return bad;
    if (p.output) {
        char why[128];
        if (!writable(p.output, why, sizeof why)) {
            say(msg, msglen, "cannot write '%s': %s", p.output, why);
            return NB_E_IO;
        }
    }
    if (!p.output && !p.term && (getenv("DISPLAY") || getenv("WAYLAND_DISPLAY"))) {
        const char *w = window_terminal();
        if (w) {
            p.term = w;
            persist = 1;
        }
    }
    char *script = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&script, &len);
    if (!f) return NB_E_NOMEM;
    nb_status s = nb_plot_write_script(f, &p, d);
    if (fclose(f) != 0 && !s) s = NB_E_NOMEM;
    if (s) {
        free(script);
        return s;
    }
    char captured[8192] = "";
    s = run(script, len, persist, captured, sizeof captured, msg, msglen);
    free(script);
    return s;
}
