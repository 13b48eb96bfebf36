#ifndef CVFIO_H
#define CVFIO_H
/*
 * The C layer under DaxPinLinux. Swift cannot import function-like ioctl macros (_IO(...)) or
 * glibc's variadic ioctl, so this header exports the request numbers as constants and gives one
 * typed wrapper per ioctl. Every wrapper returns what the kernel returned (-1 with errno set on
 * failure) and never retries: EINTR handling lives in Swift, in one place.
 */
#include <stdint.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <linux/vfio.h>
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#include "cvfio_iommufd_compat.h"
#include <linux/io_uring.h>
#include <sys/uio.h>

/* ---- request numbers (exported for tests that check them against the kernel ABI) ---- */
extern const unsigned long CVFIO_REQ_GET_API_VERSION;
extern const unsigned long CVFIO_REQ_CHECK_EXTENSION;
extern const unsigned long CVFIO_REQ_SET_IOMMU;
extern const unsigned long CVFIO_REQ_GROUP_GET_STATUS;
extern const unsigned long CVFIO_REQ_GROUP_SET_CONTAINER;
extern const unsigned long CVFIO_REQ_GROUP_UNSET_CONTAINER;
extern const unsigned long CVFIO_REQ_GROUP_GET_DEVICE_FD;
extern const unsigned long CVFIO_REQ_IOMMU_GET_INFO;
extern const unsigned long CVFIO_REQ_IOMMU_MAP_DMA;
extern const unsigned long CVFIO_REQ_IOMMU_UNMAP_DMA;
extern const unsigned long CVFIO_REQ_DEVICE_BIND_IOMMUFD;
extern const unsigned long CVFIO_REQ_DEVICE_ATTACH_IOMMUFD_PT;
extern const unsigned long CVFIO_REQ_DEVICE_DETACH_IOMMUFD_PT;
extern const unsigned long CVFIO_REQ_IOMMU_DESTROY;
extern const unsigned long CVFIO_REQ_IOMMU_IOAS_ALLOC;
extern const unsigned long CVFIO_REQ_IOMMU_IOAS_IOVA_RANGES;
extern const unsigned long CVFIO_REQ_IOMMU_IOAS_MAP;
extern const unsigned long CVFIO_REQ_IOMMU_IOAS_MAP_FILE;
extern const unsigned long CVFIO_REQ_IOMMU_IOAS_UNMAP;

/* ---- VFIO container (/dev/vfio/vfio, or /dev/iommu in compat mode) and group ---- */
int cvfio_get_api_version(int container_fd);
int cvfio_check_extension(int container_fd, uint32_t extension);
int cvfio_set_iommu(int container_fd, uint32_t iommu_type);
int cvfio_group_get_status(int group_fd, struct vfio_group_status *status);
int cvfio_group_set_container(int group_fd, int container_fd);
int cvfio_group_unset_container(int group_fd);
int cvfio_group_get_device_fd(int group_fd, const char *device_name);

/* One IOVA window the type1 IOMMU accepts (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE), inclusive. */
struct cvfio_iova_window {
  uint64_t start;
  uint64_t last;
};
/*
 * VFIO_IOMMU_GET_INFO, with the capability chain walked: fills up to max windows, the page-size
 * bitmap and, when the kernel reports it (VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL), the number of DMA
 * mappings still available under dma_entry_limit (*dma_avail = -1 when not reported).
 */
int cvfio_iommu_get_info(int container_fd, struct cvfio_iova_window *windows, uint32_t max,
                         uint32_t *count, uint64_t *iova_pgsizes, int64_t *dma_avail);
int cvfio_iommu_map_dma(int container_fd, struct vfio_iommu_type1_dma_map *map);
int cvfio_iommu_unmap_dma(int container_fd, struct vfio_iommu_type1_dma_unmap *unmap);

/* ---- vfio device cdev bound to iommufd ---- */
int cvfio_device_bind_iommufd(int device_fd, int iommufd, uint32_t *out_devid);
int cvfio_device_attach_iommufd_pt(int device_fd, uint32_t pt_id);
int cvfio_device_detach_iommufd_pt(int device_fd);

/* ---- iommufd (/dev/iommu) ---- */
int cvfio_iommufd_destroy(int iommufd, uint32_t id);
int cvfio_iommufd_ioas_alloc(int iommufd, uint32_t *out_ioas_id);
int cvfio_iommufd_ioas_iova_ranges(int iommufd, uint32_t ioas_id, struct cvfio_iova_window *windows,
                                   uint32_t max, uint32_t *count, uint64_t *alignment);
int cvfio_iommufd_ioas_map(int iommufd, struct iommu_ioas_map *map);
int cvfio_iommufd_ioas_map_file(int iommufd, struct iommu_ioas_map_file *map);
int cvfio_iommufd_ioas_unmap(int iommufd, struct iommu_ioas_unmap *unmap);

/* ---- io_uring fixed buffers ---- */
int cvfio_io_uring_setup(uint32_t entries, struct io_uring_params *params);
int cvfio_io_uring_register_buffers(int ring_fd, const struct iovec *iovecs, uint32_t count);
int cvfio_io_uring_unregister_buffers(int ring_fd);

/* ---- AF_XDP UMEM ---- */
/* socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0). */
int cvfio_xdp_socket(void);
/* setsockopt(SOL_XDP, XDP_UMEM_REG) with struct xdp_umem_reg (headroom 0, flags 0, no TX metadata):
   the kernel pins the UMEM (xdp_umem_pin_pages). */
int cvfio_xdp_umem_reg(int fd, uint64_t addr, uint64_t len, uint32_t chunk_size);

/* ---- syscalls glibc hides behind _GNU_SOURCE ---- */
/* statx(STATX_BASIC_STATS) of path; the attribute bits the kernel knows and sets. */
int cvfio_statx(int dirfd, const char *path, int flags, uint32_t *mode, uint64_t *attributes,
                uint64_t *attributes_mask, uint32_t *dev_major, uint32_t *dev_minor);
extern const uint64_t CVFIO_STATX_ATTR_DAX;
/* The statx(2) fields the seam reports, for a path (flags AT_SYMLINK_NOFOLLOW) or an fd
   (path "" with AT_EMPTY_PATH). */
struct cvfio_stat {
  uint32_t mode;
  uint32_t uid;
  uint64_t attributes;
  uint64_t attributes_mask;
  uint32_t dev_major, dev_minor;
  uint32_t rdev_major, rdev_minor;
  int64_t mtime_sec;
};
int cvfio_statx_full(int dirfd, const char *path, int flags, struct cvfio_stat *out);
/* FS_IOC_FSGETXATTR, then FS_IOC_FSSETXATTR with FS_XFLAG_DAX added: files created in the
   directory inherit the per-file DAX flag (dax=inode mounts). */
int cvfio_set_dax_flag(int dirfd);
/* getdents64(2) into buf; returns bytes read, 0 at the end, -1 with errno. */
long cvfio_getdents64(int fd, void *buf, unsigned long len);
int cvfio_memfd_create(const char *name, unsigned int flags);
extern const unsigned int CVFIO_MFD_CLOEXEC;
extern const unsigned int CVFIO_MFD_HUGETLB;
int cvfio_fallocate(int fd, int mode, int64_t offset, int64_t length);
/* statfs(2) f_type of path (TMPFS_MAGIC, EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC ...). */
int cvfio_statfs_type(const char *path, int64_t *f_type);
/* getrlimit(RLIMIT_MEMLOCK); RLIM_INFINITY is reported as UINT64_MAX. */
int cvfio_memlock_limit(uint64_t *soft, uint64_t *hard);
/* ---- signals: a flag-setting handler the probe and the output writers poll ---- */
/*
 * Catches sig with a handler that records the first signal caught, installed without SA_RESTART
 * (a blocked read, write or open returns EINTR, or a short count, so the caller can look at the
 * flag), and unblocks it (a parent may have spawned us with it blocked). A signal that is ignored
 * when this is called (nohup, a background job of a non-interactive shell) stays ignored.
 * Returns 1 when caught, 0 when left ignored, -1 with errno on failure.
 */
int cvfio_catch_signal(int sig);
/* Sets sig to SIG_IGN (SIGPIPE: EPIPE instead of death; SIGXFSZ: EFBIG instead of death). */
int cvfio_ignore_signal(int sig);
/*
 * Sets sig back to SIG_DFL unless it is ignored (the ignore stays). Returns 1 when reset, 0 when
 * left ignored, -1 with errno on failure.
 */
int cvfio_default_signal(int sig);
/* The first signal caught since the first cvfio_catch_signal, or 0. */
int cvfio_interrupt_signal(void);
/*
 * When a signal was caught: restores its default action, unblocks it and re-raises it, so the
 * process ends by that signal (a shell shows 128 + signal); _exit(128 + signal) should the raise
 * not end it. Returns only when no signal was caught.
 */
void cvfio_reraise_interrupt(void);



extern const int CVFIO_O_DIRECTORY;
extern const int CVFIO_O_NOFOLLOW;
extern const int CVFIO_O_PATH;
extern const int CVFIO_AT_EMPTY_PATH;
/* fstatfs(2) f_type of an open descriptor (O_PATH descriptors included). */
int cvfio_fstatfs_type(int fd, int64_t *f_type);
extern const int64_t CVFIO_PROC_SUPER_MAGIC;

/* --- page frames and the truncate-under-a-held-page probe (HeldTruncate.c) --- */

/* mbind(2) of [addr, addr+len) with MPOL_BIND | MPOL_MF_STRICT to one NUMA node. */
int cvfio_mbind_node(void *addr, unsigned long len, int node);
/* pread(2) of /proc/self/pagemap entries for `count` pages from `addr`: 64-bit entries. */
int cvfio_pagemap(void *addr, uint64_t count, uint64_t *entries);

/* One file whose first `held` bytes, mapped MAP_SHARED at `addr`, are held while it is truncated. */
struct cvfio_held_truncate_target {
  int fd;
  void *addr;
  size_t held;
};

struct cvfio_held_truncate {
  int32_t setup_errno;           /* nonzero: the pipe, vmsplice, the duplicate descriptor or the
                                    thread could not be had; nothing of this target is left open */
  int64_t held_bytes;            /* what vmsplice put in the pipe */
  int32_t returned_while_held;   /* the truncate returned before the pipe was drained */
  int32_t returned_after_release;
  int32_t truncate_errno;        /* 0: ftruncate succeeded */
  int64_t release_to_return_ms;  /* -1 when not measured */
  uint64_t pipe_inode;           /* the holding pipe's inode (pipefs), set even when vmsplice fails:
                                    tests look for it in /proc/self/fd to prove it was closed */
};
/*
 * Begins the measurement for each target at once: vmsplice(2) of its first `held` bytes into a
 * new pipe and ftruncate(fd, 0) on a thread of its own. The hold lasts until
 * cvfio_held_truncate_end, and at least hold_ms from this call unless every truncate has
 * returned sooner; the caller may do other work meanwhile. NULL when the batch could not be
 * allocated (nothing was started: every target is ENOMEM). A target whose pipe, vmsplice,
 * duplicate descriptor or thread could not be had fails alone (setup_errno).
 */
struct cvfio_held_truncate_batch;
struct cvfio_held_truncate_batch *cvfio_held_truncate_begin(const struct cvfio_held_truncate_target *targets, size_t count,
                                                            unsigned hold_ms);
/*
 * Ends the hold: waits for what is left of it (unless until_deadline is 0: a run that stops at
 * once), records which truncates returned while held, drains and closes every pipe, and gives
 * each truncate up to wait_ms (from the drain) to return.
 * out[i] answers targets[i] (out may be NULL: the hold is ended, the answers dropped); the batch
 * is freed. A truncate still blocked after wait_ms keeps its thread (detached), its duplicate of
 * the descriptor and a small state block; once a truncate has returned (returned_while_held or
 * returned_after_release), its duplicate is closed.
 */
void cvfio_held_truncate_end(struct cvfio_held_truncate_batch *batch, int until_deadline, unsigned wait_ms,
                             struct cvfio_held_truncate *out);

#endif /* CVFIO_H */
