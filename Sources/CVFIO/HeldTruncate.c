#ifndef _GNU_SOURCE
#error "CVFIO needs _GNU_SOURCE (set in Package.swift cSettings)"
#endif
#include "CVFIO.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CVFIO_MPOL_BIND 2
#define CVFIO_MPOL_MF_STRICT (1 << 0)

int cvfio_mbind_node(void *addr, unsigned long len, int node) {
  if (node < 0 || node >= 1024) { errno = EINVAL; return -1; }
  unsigned long mask[1024 / (8 * sizeof(unsigned long))];
  memset(mask, 0, sizeof(mask));
  mask[node / (8 * sizeof(unsigned long))] = 1UL << (node % (8 * sizeof(unsigned long)));
  return (int)syscall(SYS_mbind, addr, len, CVFIO_MPOL_BIND, mask, (unsigned long)1024 + 1, CVFIO_MPOL_MF_STRICT);
}

int cvfio_pagemap(void *addr, uint64_t count, uint64_t *entries) {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  off_t off = (off_t)((uintptr_t)addr / 4096) * 8;
  size_t want = (size_t)count * 8, got = 0;
  while (got < want) {
    ssize_t n = pread(fd, (char *)entries + got, want - got, off + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { int e = n < 0 ? errno : EIO; close(fd); errno = e; return -1; }
    got += (size_t)n;
  }
  close(fd);
  return 0;
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Shared by the probe and the truncate thread; freed by whichever lets go of it last. */
struct truncate_job {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int fd;
  int started, done, err, owners;
  int64_t returned_at_ms;
};

static void release_job(struct truncate_job *j) {
  pthread_mutex_lock(&j->lock);
  int last = --j->owners == 0;
  pthread_mutex_unlock(&j->lock);
  if (last) {
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->cond);
    free(j);
  }
}

static void *truncate_thread(void *arg) {
  struct truncate_job *j = arg;
  pthread_mutex_lock(&j->lock);
  j->started = 1;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  int r;
  do { r = ftruncate(j->fd, 0); } while (r != 0 && errno == EINTR);
  int e = r == 0 ? 0 : errno;
  /* Closed before `done` is published: a caller that saw the truncate return has nothing of it left open. */
  close(j->fd);
  pthread_mutex_lock(&j->lock);
  j->done = 1;
  j->err = e;
  j->returned_at_ms = now_ms();
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  release_job(j);
  return NULL;
}

/* Waits (with the lock held) until the truncate is done, `deadline_ms` passes or daxpin has caught
   a terminating signal (cvfio_interrupt_signal: the run then stops at once), looking every 50 ms. */
static void wait_done(struct truncate_job *j, int64_t deadline_ms) {
  while (!j->done && !cvfio_interrupt_signal()) {
    int64_t left = deadline_ms - now_ms();
    if (left <= 0) break;
    if (left > 50) left = 50;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += left / 1000;
    t.tv_nsec += (left % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) { t.tv_sec++; t.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&j->cond, &j->lock, &t);
  }
}

/* One target's pipe and truncate thread; `job` is NULL once its setup failed (or never began). */
struct held_target {
  int pipe[2];
  struct truncate_job *job;
  int64_t drained_ms; /* when its pipe was drained and closed */
};

/* The pipe holding `t`'s first pages and the thread truncating its file, or out->setup_errno. */
static void start_held_truncate(const struct cvfio_held_truncate_target *t, struct held_target *h, struct cvfio_held_truncate *out) {
  h->pipe[0] = h->pipe[1] = -1;
  h->job = NULL;
  if (pipe2(h->pipe, O_CLOEXEC | O_NONBLOCK) != 0) { out->setup_errno = errno; return; }
  struct stat ps;
  if (fstat(h->pipe[0], &ps) == 0) out->pipe_inode = (uint64_t)ps.st_ino;
  /* The pipe now holds a reference on each page (no SPLICE_F_GIFT: the pages stay the mapping's). */
  struct iovec iov = {.iov_base = t->addr, .iov_len = t->held};
  ssize_t n;
  do { n = vmsplice(h->pipe[1], &iov, 1, SPLICE_F_NONBLOCK); } while (n < 0 && errno == EINTR);
  int e = 0;
  struct truncate_job *j = NULL;
  if (n < 0) { e = errno; goto fail; }
  out->held_bytes = n;
  j = calloc(1, sizeof(*j));
  if (!j) { e = ENOMEM; goto fail; }
  /* The thread truncates through its own descriptor: it may outlive the caller's. */
  j->fd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
  if (j->fd < 0) { e = errno; free(j); goto fail; }
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->cond, NULL);
  j->owners = 2;
  pthread_t thread;
  e = pthread_create(&thread, NULL, truncate_thread, j);
  if (e != 0) {
    close(j->fd);
    j->owners = 1;
    release_job(j);
    goto fail;
  }
  pthread_detach(thread);
  pthread_mutex_lock(&j->lock);
  while (!j->started) pthread_cond_wait(&j->cond, &j->lock);
  pthread_mutex_unlock(&j->lock);
  h->job = j;
  return;
fail:
  close(h->pipe[0]);
  close(h->pipe[1]);
  h->pipe[0] = h->pipe[1] = -1;
  out->held_bytes = 0;
  out->setup_errno = e;
}

/* Drain: each buffer read is released (put_page), dropping the pipe's references. */
static void drain_and_close(struct held_target *h) {
  if (h->pipe[0] < 0) return;
  char buf[65536];
  for (;;) {
    ssize_t r = read(h->pipe[0], buf, sizeof(buf));
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  close(h->pipe[0]);
  close(h->pipe[1]);
  h->pipe[0] = h->pipe[1] = -1;
  h->drained_ms = now_ms();
}

/* A hold begun by cvfio_held_truncate_begin: each target's pipe and thread, and the answers so far. */
struct cvfio_held_truncate_batch {
  size_t count;
  int64_t deadline_ms; /* the end of the hold, unless every truncate returns before it */
  struct held_target *h;
  struct cvfio_held_truncate *out;
};

struct cvfio_held_truncate_batch *cvfio_held_truncate_begin(const struct cvfio_held_truncate_target *targets, size_t count,
                                                            unsigned hold_ms) {
  struct cvfio_held_truncate_batch *b = calloc(1, sizeof(*b));
  if (!b) return NULL;
  b->count = count;
  b->h = calloc(count ? count : 1, sizeof(*b->h));
  b->out = calloc(count ? count : 1, sizeof(*b->out));
  if (!b->h || !b->out) {
    free(b->h);
    free(b->out);
    free(b);
    return NULL;
  }
  for (size_t i = 0; i < count; i++) {
    b->out[i].release_to_return_ms = -1;
    start_held_truncate(&targets[i], &b->h[i], &b->out[i]);
  }
  /* One hold for all targets, counted from now: whatever the caller does meanwhile (the probe
     runs its other cells), no pipe is drained before the deadline unless every truncate has
     already returned (a truncate that does not wait for the references needs no more time to
     show it). */
  b->deadline_ms = now_ms() + hold_ms;
  return b;
}

void cvfio_held_truncate_end(struct cvfio_held_truncate_batch *b, int until_deadline, unsigned wait_ms, struct cvfio_held_truncate *out) {
  size_t count = b->count;
  struct held_target *h = b->h;
  for (size_t i = 0; i < count && until_deadline; i++) {
    if (!h[i].job) continue;
    pthread_mutex_lock(&h[i].job->lock);
    wait_done(h[i].job, b->deadline_ms);
    pthread_mutex_unlock(&h[i].job->lock);
  }
  for (size_t i = 0; i < count; i++) {
    if (!h[i].job) continue;
    pthread_mutex_lock(&h[i].job->lock);
    b->out[i].returned_while_held = h[i].job->done;
    pthread_mutex_unlock(&h[i].job->lock);
  }
  for (size_t i = 0; i < count; i++) drain_and_close(&h[i]);
  int64_t released = now_ms();

  for (size_t i = 0; i < count; i++) {
    struct truncate_job *j = h[i].job;
    if (!j) continue;
    pthread_mutex_lock(&j->lock);
    wait_done(j, released + wait_ms);
    b->out[i].returned_after_release = j->done;
    if (j->done) {
      b->out[i].truncate_errno = j->err;
      if (!b->out[i].returned_while_held)
        b->out[i].release_to_return_ms = j->returned_at_ms > h[i].drained_ms ? j->returned_at_ms - h[i].drained_ms : 0;
    }
    pthread_mutex_unlock(&j->lock);
    release_job(j);
  }
  if (out) memcpy(out, b->out, count * sizeof(*out));
  free(b->out);
  free(h);
  free(b);
}
