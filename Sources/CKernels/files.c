#define _GNU_SOURCE
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GLM_TEMP_SLOTS 8
#define GLM_TEMP_PATH_MAX 4096

static char temp_paths[GLM_TEMP_SLOTS][GLM_TEMP_PATH_MAX];
/// 0 free, 1 being written, 2 a path to remove.
static int temp_state[GLM_TEMP_SLOTS];

int glm_temp_remember(const char *path) {
    size_t length = strlen(path);
    if (length >= GLM_TEMP_PATH_MAX) return -1;
    for (int slot = 0; slot < GLM_TEMP_SLOTS; slot++) {
        int expected = 0;
        if (__atomic_compare_exchange_n(&temp_state[slot], &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            memcpy(temp_paths[slot], path, length + 1);
            __atomic_store_n(&temp_state[slot], 2, __ATOMIC_RELEASE);
            return slot;
        }
    }
    return -1;
}

void glm_temp_forget(int slot) {
    if (slot < 0 || slot >= GLM_TEMP_SLOTS) return;
    __atomic_store_n(&temp_state[slot], 0, __ATOMIC_RELEASE);
}

static void cleanup_and_die(int signal_number) {
    for (int slot = 0; slot < GLM_TEMP_SLOTS; slot++) {
        if (__atomic_load_n(&temp_state[slot], __ATOMIC_ACQUIRE) == 2) unlink(temp_paths[slot]);
    }
    // SA_RESETHAND restored the default action and SA_NODEFER left the signal unblocked:
    // raising it again ends the process as the signal would have.
    raise(signal_number);
    _exit(128 + signal_number);
}

void glm_install_signal_cleanup(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = cleanup_and_die;
    action.sa_flags = SA_RESETHAND | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    const int signals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
    sigset_t blocked;
    sigemptyset(&blocked);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        // An ignored SIGINT, SIGHUP or SIGPIPE stays ignored (nohup, a background job of a
        // script; a write to a closed pipe then fails with EPIPE, status 74); SIGTERM is
        // always caught.
        struct sigaction previous;
        if (signals[i] != SIGTERM && sigaction(signals[i], NULL, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
        sigaction(signals[i], &action, NULL);
        sigaddset(&blocked, signals[i]);
    }
    // A parent may start glmfit with these blocked (a thread of a test runner or a service
    // manager spawning it with its own mask): they would then never arrive.
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
}

int glm_open_unnamed(const char *directory, unsigned mode) {
#ifdef O_TMPFILE
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)mode);
#else
    (void)directory;
    (void)mode;
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int glm_link_unnamed(int fd, const char *path) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, link, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}
