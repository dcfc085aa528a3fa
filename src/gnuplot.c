/* gnuplot.c - running gnuplot: posix_spawnp with pipes for its standard input (the script and
 * inline data) and standard error (its messages), SIGPIPE blocked in this thread while writing
 * (and at its default action in the child), the child always reaped. */
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

/* Where gnuplot's standard output goes. */
enum { OUT_INHERIT = -1, /* ours, untouched (a window terminal's helper may keep it open) */
       OUT_DISCARD = -2  /* read and dropped */ };

/* Writes buf[0 .. n-1] to fd in full (waiting when fd is non-blocking). 0, or an errno. */
static int write_all(int fd, const char *buf, size_t n) {
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, -1);
        } else if (w < 0 && errno != EINTR) {
            return errno;
        } else if (w == 0) {
            return EIO;
        }
    }
    return 0;
}

/* The line of gnuplot's stderr that says why it failed: the one with "line N:" (gnuplot echoes
 * the command, then a caret, then that line), else the last line that is not the echo or the
 * caret, else the first non-empty one; leading blanks dropped, at most size - 1 bytes. */
static void why_failed(const char *err, char *out, size_t size) {
    const char *best = NULL, *last = NULL, *first = NULL;
    for (const char *s = err; *s;) {
        size_t k = strcspn(s, "\n");
        const char *t = s;
        while (t < s + k && (*t == ' ' || *t == '\t')) t++;
        if (t < s + k) {
            if (!first) first = t;
            int caret = strspn(t, " ^\t") == (size_t)(s + k - t);
            if (!caret && strncmp(t, "gnuplot>", 8) != 0) last = t;
            if (!best && strncmp(t, "line ", 5) == 0 && t[5] >= '0' && t[5] <= '9') best = t;
        }
        s += k;
        if (*s) s++;
    }
    const char *pick = best ? best : last ? last : first;
    out[0] = 0;
    if (!pick) return;
    size_t k = strcspn(pick, "\n");
    if (k >= size) k = size - 1;
    memcpy(out, pick, k);
    out[k] = 0;
}

/* What run() reports besides its status. */
typedef struct {
    size_t out_bytes; /* bytes gnuplot wrote to its standard output */
    int out_errno;    /* the first error writing them to the sink, or 0 */
} run_info;

/* Runs gnuplot (with -persist when asked) on script[0 .. len-1], stopping it (SIGKILL) when it
 * is still running after `limit` seconds without reading, writing or exiting (0: no limit), and
 * not waiting for pipes that something else holds open more than 2 s after it exited (a helper
 * process). Its standard output goes to
 * sink: a descriptor, which nabla writes with every error seen (gnuplot itself exits 0 after a
 * failed write), OUT_INHERIT or OUT_DISCARD. When captured is not NULL its stderr is kept there
 * (NUL-terminated, at most capsize - 1 bytes). Returns NB_OK, NB_E_NOTFOUND, NB_E_CHILD (with
 * gnuplot's first message line in msg) or NB_E_IO / NB_E_NOMEM; info gets the output's size and
 * write error. */
static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static nb_status run(const char *script, size_t len, int persist, int sink, char *captured,
                     size_t capsize, run_info *info, char *msg, size_t msglen, double limit) {
    info->out_bytes = 0;
    info->out_errno = 0;
    /* close-on-exec from the start (no other thread's child inherits them), and all at 3 or
     * above, so that the dup2 onto 0..2 never meets one of its own sources (a caller that closed
     * its standard input would get pipe ends numbered 0..2) */
    int in[2] = {-1, -1}, err[2] = {-1, -1}, out[2] = {-1, -1};
    int piped = sink != OUT_INHERIT;
    if (pipe2(in, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (piped && pipe2(out, O_CLOEXEC)) ||
        high_fd(&in[0]) || high_fd(&in[1]) || high_fd(&err[0]) || high_fd(&err[1]) ||
        (piped && (high_fd(&out[0]) || high_fd(&out[1])))) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (err[i] >= 0) close(err[i]);
            if (out[i] >= 0) close(out[i]);
        }
        say(msg, msglen, "cannot make a pipe for gnuplot: %s%s", strerror(e), "");
        return NB_E_IO;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid;
    int rc = -1; /* < 0: the file actions could not be set up */
    if (posix_spawn_file_actions_init(&fa) == 0) {
        if (posix_spawnattr_init(&attr) == 0) {
            /* an ignored SIGPIPE survives exec (the nabla command ignores it): gnuplot and its
             * helpers get the default they expect */
            sigset_t def;
            sigemptyset(&def);
            sigaddset(&def, SIGPIPE);
            /* dup2 clears close-on-exec on 0..2; every pipe end itself closes at exec */
            if (!posix_spawnattr_setsigdefault(&attr, &def) &&
                !posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF) &&
                !posix_spawn_file_actions_adddup2(&fa, in[0], 0) &&
                !posix_spawn_file_actions_adddup2(&fa, err[1], 2) &&
                !(piped && posix_spawn_file_actions_adddup2(&fa, out[1], 1))) {
                char *argv[3] = {"gnuplot", persist ? "-persist" : NULL, NULL};
                rc = posix_spawnp(&pid, "gnuplot", &fa, &attr, argv, environ);
            }
            posix_spawnattr_destroy(&attr);
        }
        posix_spawn_file_actions_destroy(&fa);
    }
    close(in[0]);
    close(err[1]);
    if (piped) close(out[1]);
    if (rc) {
        close(in[1]);
        close(err[0]);
        if (piped) close(out[0]);
        if (rc < 0) return NB_E_NOMEM;
        if (rc == ENOENT) {
            say(msg, msglen,
                "gnuplot not found: install it (Debian: apt-get install gnuplot-nox), or use "
                "--data for the table without gnuplot%s%s", "", "");
            return NB_E_NOTFOUND;
        }
        say(msg, msglen, "cannot start gnuplot: %s%s", strerror(rc), "");
        return NB_E_CHILD;
    }

    /* Feed the script and drain stdout and stderr together, so that no pipe can fill up and
     * block another. SIGPIPE is blocked in this thread only: an early exit of gnuplot, or a
     * closed reader of the sink, is EPIPE. */
    sigset_t pipeset, old;
    sigemptyset(&pipeset);
    sigaddset(&pipeset, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipeset, &old);
    sigset_t pending_before;
    sigpending(&pending_before);
    fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
    size_t off = 0, got = 0;
    char buf[65536];
    int in_open = 1, err_open = 1, out_open = piped, broken = 0;
    if (len == 0) {
        close(in[1]);
        in_open = 0;
    }
    int status = 0, reaped = 0, killed = 0;
    double last = now_s(), exited_at = 0;
    while (in_open || err_open || out_open) {
        struct pollfd fds[3];
        int nf = 0, ii = -1, ei = -1, oi = -1;
        if (in_open) ii = nf, fds[nf].fd = in[1], fds[nf].events = POLLOUT, fds[nf++].revents = 0;
        if (err_open) ei = nf, fds[nf].fd = err[0], fds[nf].events = POLLIN, fds[nf++].revents = 0;
        if (out_open) oi = nf, fds[nf].fd = out[0], fds[nf].events = POLLIN, fds[nf++].revents = 0;
        const int ready = poll(fds, (nfds_t)nf, 250);
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;
        }
        const double t = now_s();
        /* has gnuplot exited? Then pipes something else holds (a helper, a wrapper's child) are
         * not waited for beyond 2 s, however much it writes */
        if (!reaped && waitpid(pid, &status, WNOHANG) == pid) reaped = 1, exited_at = t;
        if (reaped && t - exited_at > 2) break;
        if (ready > 0) {
            last = t;
        } else {
            /* silence: does gnuplot hang? */
            if (!reaped && !killed && limit > 0 && t - last > limit) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            continue;
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
            ssize_t r = read(err[0], buf, sizeof buf);
            if (r > 0) {
                if (captured && got + 1 < capsize) {
                    size_t k = (size_t)r < capsize - 1 - got ? (size_t)r : capsize - 1 - got;
                    memcpy(captured + got, buf, k);
                    got += k;
                    captured[got] = 0;
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(err[0]);
                err_open = 0;
            }
        }
        if (oi >= 0 && fds[oi].revents) {
            ssize_t r = read(out[0], buf, sizeof buf);
            if (r > 0) {
                info->out_bytes += (size_t)r;
                /* after a failed write the rest is drained unwritten, so gnuplot never blocks */
                if (sink >= 0 && !info->out_errno) info->out_errno = write_all(sink, buf, (size_t)r);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(out[0]);
                out_open = 0;
            }
        }
    }
    if (in_open) close(in[1]);
    if (err_open) close(err[0]);
    if (out_open) close(out[0]);
    /* consume a SIGPIPE this thread raised, then restore the mask */
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&pending_before, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipeset, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* the pipes are closed: wait for gnuplot's exit, still within the limit (it may close them
     * and hang) */
    pid_t w = pid;
    while (!reaped) {
        w = waitpid(pid, &status, killed ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        if (w == 0) {
            if (limit > 0 && now_s() - last > limit) {
                kill(pid, SIGKILL);
                killed = 1;
            } else {
                struct timespec nap = {0, 50 * 1000 * 1000};
                nanosleep(&nap, NULL);
            }
        }
    }
    if (killed) {
        char secs[32];
        snprintf(secs, sizeof secs, "%g", limit);
        say(msg, msglen, "gnuplot did nothing for %s s and was stopped%s", secs, "");
        return NB_E_CHILD;
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
        char line[200] = "";
        if (captured) why_failed(captured, line, sizeof line);
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

/* gnuplot's window terminals, in the order a plot without an output prefers them. */
static const char *const window_terms[] = {"qt", "wxt", "x11", "aqua", "windows"};
#define N_WINDOW_TERMS (sizeof window_terms / sizeof *window_terms)

/* A window terminal gnuplot offers (window_terms, first match), or NULL. */
static const char *window_terminal(void) {
    static const char probe[] = "print GPVAL_TERMINALS\n"; /* print writes to stderr */
    char out[4096] = "";
    run_info info;
    if (run(probe, sizeof probe - 1, 0, OUT_DISCARD, out, sizeof out, &info, NULL, 0, 30))
        return NULL;
    for (size_t i = 0; i < N_WINDOW_TERMS; i++) {
        const char *w = window_terms[i];
        size_t n = strlen(w);
        for (const char *s = out; (s = strstr(s, w)) != NULL; s += n)
            if ((s == out || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\n' || s[n] == 0)) return w;
    }
    return NULL;
}

/* Where a plot to path goes first. An existing path that is not a regular file (a device, a
 * FIFO) is opened for writing and written directly (*stage NULL). Otherwise gnuplot's output is
 * staged in an unnamed temporary file (*stage), copied over path only once the plot is complete,
 * so a failed plot leaves path as it was; path itself is then opened as any program would (through
 * a symbolic link, keeping its mode and its hard links). Returns a descriptor, or -1 with the
 * reason in why. */
static int open_output(const char *path, int *stage, char *why, size_t whylen) {
    *stage = 0;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* not blocking at the open: a FIFO nobody reads is ENXIO, not a hang; the writes then
         * block as usual */
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 && errno == ENXIO)
            snprintf(why, whylen, "nothing reads it (a FIFO without a reader)");
        else if (fd < 0)
            snprintf(why, whylen, "%s", strerror(errno));
        else
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        return fd;
    }
    /* in TMPDIR (else /tmp), close-on-exec from the start (no child of another thread inherits
     * it), and unlinked at once: it goes when it is closed */
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char name[4096];
    if (snprintf(name, sizeof name, "%s/nabla-plot-XXXXXX", dir) >= (int)sizeof name) {
        snprintf(why, whylen, "no temporary file: TMPDIR is too long");
        return -1;
    }
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "no temporary file in %s: %s", dir, strerror(errno));
        return -1;
    }
    unlink(name);
    *stage = 1;
    return fd;
}

/* Copies what is left to read of from into to. 0, or an errno. */
static int copy_into(int from, int to) {
    char buf[65536];
    for (;;) {
        ssize_t r = read(from, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) return 0;
        int e = write_all(to, buf, (size_t)r);
        if (e) return e;
    }
}

/* Copies the staged plot (or a kept copy) over path. 0, or an errno. */
static int publish(int stage, const char *path) {
    if (lseek(stage, 0, SEEK_SET) != 0) return errno ? errno : EIO;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
    if (fd < 0) return errno;
    int e = copy_into(stage, fd);
    if (close(fd) != 0 && !e) e = errno;
    return e;
}

/* A copy of the regular file path in an unnamed temporary file (as open_output stages), so that
 * a failed plot by a terminal that writes path itself can put it back. A descriptor, or -1 with
 * the reason in why. */
static int keep_copy(const char *path, char *why, size_t whylen) {
    int stage = 0, fd = open_output(path, &stage, why, whylen);
    if (fd < 0) return -1;
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    int e = in < 0 ? errno : copy_into(in, fd);
    if (in >= 0) close(in);
    if (e) {
        snprintf(why, whylen, "cannot keep a copy of it: %s", strerror(e));
        close(fd);
        return -1;
    }
    return fd;
}

static void remove_made(const char *path);

/* publish, leaving path as it was when the copy fails (a full disk): an existing regular file is
 * kept aside first and put back, a file that was not there is removed. Where no copy can be kept
 * (a write-only file, no room in TMPDIR) the plot is published all the same, as a plain open
 * would: refusing would fail plots that fit (a review). 0, or an errno. */
static int publish_or_restore(int stage, const char *path) {
    struct stat st;
    char why[128];
    const int existed = stat(path, &st) == 0;
    const int kept = existed && S_ISREG(st.st_mode) ? keep_copy(path, why, sizeof why) : -1;
    int e = publish(stage, path);
    if (e && kept >= 0)
        publish(kept, path); /* best effort: the old content needs no more room than it had */
    else if (e && !existed)
        remove_made(path);
    if (kept >= 0) close(kept);
    return e;
}

/* 1 when gnuplot's terminal t writes a complete plot to a pipe: the formats nabla chooses itself
 * and the common image and text terminals. Others (epslatex, cairolatex, emf, postscript, ...)
 * are given their output file by name. */
static int stream_term(const char *t) {
    static const char *const ok[] = {"pngcairo", "pdfcairo", "svg",  "png",   "jpeg",
                                     "gif",      "webp",     "dumb", "sixelgd", "canvas"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(t, ok[i]) == 0) return 1;
    return 0;
}

/* 1 when gnuplot's terminal t opens a window, whose helper process may outlive gnuplot holding
 * its standard output. */
static int window_term(const char *t) {
    for (size_t i = 0; i < N_WINDOW_TERMS; i++)
        if (strcmp(t, window_terms[i]) == 0) return 1;
    return 0;
}

/* Removes the file a failed plot made at path, which was not there before: path itself, or,
 * when path is a symbolic link (it was dangling), the file made at its target - never the link. */
static void remove_made(const char *path) {
    struct stat l;
    if (lstat(path, &l) != 0) return;
    if (!S_ISLNK(l.st_mode)) {
        unlink(path);
        return;
    }
    char target[4096], full[8192];
    const ssize_t n = readlink(path, target, sizeof target - 1);
    if (n <= 0) return;
    target[n] = 0;
    const char *slash = strrchr(path, '/');
    if (target[0] == '/' || !slash)
        snprintf(full, sizeof full, "%s", target);
    else
        snprintf(full, sizeof full, "%.*s/%s", (int)(slash - path), path, target);
    struct stat t;
    if (lstat(full, &t) == 0 && S_ISREG(t.st_mode)) unlink(full);
}

nb_status nb_plot_render(const nb_plot *p0, const nb_plot_data *d, char *msg, size_t msglen) {
    if (msg && msglen) msg[0] = 0;
    if (!p0 || !d) return NB_E_ARG;
    nb_plot p = *p0;
    int persist = 0;
    nb_status bad = nb__plot_check(&p, d, msg, msglen);
    if (bad) return bad;
    const char *output = p.output;
    if (output) {
        char why[128];
        if (!writable(output, why, sizeof why)) {
            say(msg, msglen, "cannot write '%s': %s", output, why);
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
    /* gnuplot writes to its standard output, which nabla copies to the file or to ours: gnuplot
     * exits 0 after a failed write of its own, so only nabla can see a full disk or a closed
     * pipe. The script names the terminal the output's extension chose, and no output file.
     * Terminals that need a named, seekable file (epslatex and cairolatex write a second file
     * named after it, emf seeks back to fill its header) are given the file itself, as before. */
    int dumb;
    p.term = nb__plot_terminal(&p, &dumb);
    const int direct = output && !stream_term(p.term);
    if (!direct) p.output = NULL;
    int sink = window_term(p.term) || direct ? OUT_INHERIT : STDOUT_FILENO;

    char *script = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&script, &len);
    if (!f) {
        say(msg, msglen, "out of memory%s%s", "", "");
        return NB_E_NOMEM;
    }
    nb_status s = nb_plot_write_script(f, &p, d);
    if (fclose(f) != 0 && !s) s = NB_E_NOMEM;
    if (s) {
        if (s == NB_E_NOMEM || s == NB_E_IO) /* writing to memory: only memory can run out */
            say(msg, msglen, "out of memory%s%s", "", "");
        free(script);
        return s;
    }
    int stage = 0;
    if (output && !direct) {
        char why[128];
        sink = open_output(output, &stage, why, sizeof why);
        if (sink < 0) {
            free(script);
            say(msg, msglen, "cannot write '%s': %s", output, why);
            return NB_E_IO;
        }
    }
    char captured[8192] = "";
    run_info info;
    /* a terminal that writes FILE itself: gnuplot opens (creates, truncates) it at `set output`,
     * reads on after an error, and some terminals write nothing at all (push, unknown) or fail
     * only later (epslatex wants a name.ext). A regular FILE's content is kept aside first and
     * put back when the plot fails or leaves FILE empty; a FILE that was not there is removed. */
    struct stat st;
    const int existed = direct && stat(output, &st) == 0, regular = existed && S_ISREG(st.st_mode);
    int kept = -1;
    if (regular) {
        char why[128];
        kept = keep_copy(output, why, sizeof why);
        if (kept < 0) {
            free(script);
            say(msg, msglen, "cannot write '%s': %s", output, why);
            return NB_E_IO;
        }
    }
    s = run(script, len, persist, sink, captured, sizeof captured, &info, msg, msglen, p.timeout);
    free(script);
    if (!s && info.out_errno) {
        s = NB_E_IO;
        if (output && stage)
            say(msg, msglen, "cannot stage the plot in a temporary file (TMPDIR): %s%s",
                strerror(info.out_errno), "");
        else if (output)
            say(msg, msglen, "cannot write '%s': %s", output, strerror(info.out_errno));
        else
            say(msg, msglen, "cannot write the plot to standard output: %s%s",
                strerror(info.out_errno), "");
    }
    if (!s && output && !direct && info.out_bytes == 0) {
        s = NB_E_CHILD;
        say(msg, msglen, "gnuplot wrote nothing for '%s'%s", output, "");
    }
    if (direct && (regular || !existed)) {
        struct stat now;
        const int there = stat(output, &now) == 0;
        if (!s && (!there || (S_ISREG(now.st_mode) && now.st_size == 0))) {
            s = NB_E_CHILD;
            say(msg, msglen, "gnuplot wrote nothing for '%s' (terminal %s)", output, p.term);
        }
        if (s && kept >= 0)
            publish(kept, output); /* put back as it was (best effort: the plot's error stands) */
        else if (s && there && S_ISREG(now.st_mode))
            remove_made(output);
    }
    if (kept >= 0) close(kept);
    if (output && !direct) {
        int e = 0;
        if (stage) {
            if (!s) e = publish_or_restore(sink, output);
            close(sink); /* the temporary file goes with it */
        } else if (close(sink) != 0) {
            e = errno;
        }
        if (e && !s) {
            s = NB_E_IO;
            say(msg, msglen, "cannot write '%s': %s", output, strerror(e));
        }
    }
    return s;
}
