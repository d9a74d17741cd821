#ifndef GLMFIT_FILES_H
#define GLMFIT_FILES_H

/// Output files and signals, in C because a signal handler may only call async-signal-safe
/// functions and touch memory that needs no allocation or lock.

/// Records `path` (a named temporary file) for removal should SIGINT, SIGTERM, SIGHUP or
/// SIGPIPE end the process: the slot to pass to `glm_temp_forget`, or -1 when all slots are
/// taken or the path is too long (the file is then only removed by its owner).
int glm_temp_remember(const char *path);

/// Stops removing the path of `slot` (it was renamed into place or removed).
void glm_temp_forget(int slot);

/// Installs the handler for SIGINT, SIGTERM, SIGHUP and SIGPIPE: it removes the remembered
/// temporary files, then ends the process by the same signal with its default action (so
/// the shell sees status 128 + the signal's number: 130, 143, 129, 141). They are unblocked
/// too; SIGINT, SIGHUP and SIGPIPE stay ignored when the parent ignored them (nohup).
void glm_install_signal_cleanup(void);

/// An unnamed file in `directory` (open(2)'s O_TMPFILE), for reading and writing, with `mode` less the
/// umask: nothing is left if the process dies. -1 (errno set) where the filesystem or
/// kernel does not offer it.
int glm_open_unnamed(const char *directory, unsigned mode);

/// Gives the unnamed file `fd` the name `path` (linkat of /proc/self/fd/N), which must not
/// exist: 0, or -1 with errno (EEXIST when it does).
int glm_link_unnamed(int fd, const char *path);

#endif
