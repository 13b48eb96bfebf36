#ifndef _GNU_SOURCE
#error "CVFIO needs _GNU_SOURCE (set in Package.swift cSettings)"
#endif
#include "CVFIO.h"
#include <errno.h>
#include <linux/fs.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>

const unsigned long CVFIO_REQ_GET_API_VERSION = VFIO_GET_API_VERSION;
const unsigned long CVFIO_REQ_CHECK_EXTENSION = VFIO_CHECK_EXTENSION;
const unsigned long CVFIO_REQ_SET_IOMMU = VFIO_SET_IOMMU;
const unsigned long CVFIO_REQ_GROUP_GET_STATUS = VFIO_GROUP_GET_STATUS;
const unsigned long CVFIO_REQ_GROUP_SET_CONTAINER = VFIO_GROUP_SET_CONTAINER;
const unsigned long CVFIO_REQ_GROUP_UNSET_CONTAINER = VFIO_GROUP_UNSET_CONTAINER;
const unsigned long CVFIO_REQ_GROUP_GET_DEVICE_FD = VFIO_GROUP_GET_DEVICE_FD;
const unsigned long CVFIO_REQ_IOMMU_GET_INFO = VFIO_IOMMU_GET_INFO;
const unsigned long CVFIO_REQ_IOMMU_MAP_DMA = VFIO_IOMMU_MAP_DMA;
const unsigned long CVFIO_REQ_IOMMU_UNMAP_DMA = VFIO_IOMMU_UNMAP_DMA;
const unsigned long CVFIO_REQ_DEVICE_BIND_IOMMUFD = VFIO_DEVICE_BIND_IOMMUFD;
const unsigned long CVFIO_REQ_DEVICE_ATTACH_IOMMUFD_PT = VFIO_DEVICE_ATTACH_IOMMUFD_PT;
const unsigned long CVFIO_REQ_DEVICE_DETACH_IOMMUFD_PT = VFIO_DEVICE_DETACH_IOMMUFD_PT;
const unsigned long CVFIO_REQ_IOMMU_DESTROY = IOMMU_DESTROY;
const unsigned long CVFIO_REQ_IOMMU_IOAS_ALLOC = IOMMU_IOAS_ALLOC;
const unsigned long CVFIO_REQ_IOMMU_IOAS_IOVA_RANGES = IOMMU_IOAS_IOVA_RANGES;
const unsigned long CVFIO_REQ_IOMMU_IOAS_MAP = IOMMU_IOAS_MAP;
const unsigned long CVFIO_REQ_IOMMU_IOAS_MAP_FILE = IOMMU_IOAS_MAP_FILE;
const unsigned long CVFIO_REQ_IOMMU_IOAS_UNMAP = IOMMU_IOAS_UNMAP;

int cvfio_get_api_version(int fd) { return ioctl(fd, VFIO_GET_API_VERSION); }
int cvfio_check_extension(int fd, uint32_t ext) { return ioctl(fd, VFIO_CHECK_EXTENSION, (unsigned long)ext); }
int cvfio_set_iommu(int fd, uint32_t type) { return ioctl(fd, VFIO_SET_IOMMU, (unsigned long)type); }
int cvfio_group_get_status(int fd, struct vfio_group_status *st) {
  st->argsz = sizeof(*st);
  return ioctl(fd, VFIO_GROUP_GET_STATUS, st);
}
int cvfio_group_set_container(int gfd, int cfd) { return ioctl(gfd, VFIO_GROUP_SET_CONTAINER, &cfd); }
int cvfio_group_unset_container(int gfd) { return ioctl(gfd, VFIO_GROUP_UNSET_CONTAINER); }
int cvfio_group_get_device_fd(int gfd, const char *name) { return ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, name); }

int cvfio_iommu_get_info(int fd, struct cvfio_iova_window *windows, uint32_t max, uint32_t *count,
                         uint64_t *pgsizes, int64_t *dma_avail) {
  struct vfio_iommu_type1_info probe = {.argsz = sizeof(probe)};
  *count = 0;
  *pgsizes = 0;
  *dma_avail = -1;
  if (ioctl(fd, VFIO_IOMMU_GET_INFO, &probe) != 0) return -1;
  uint32_t size = probe.argsz > sizeof(probe) ? probe.argsz : (uint32_t)sizeof(probe);
  struct vfio_iommu_type1_info *info = calloc(1, size);
  if (!info) { errno = ENOMEM; return -1; }
  info->argsz = size;
  if (ioctl(fd, VFIO_IOMMU_GET_INFO, info) != 0) { int e = errno; free(info); errno = e; return -1; }
  if (info->flags & VFIO_IOMMU_INFO_PGSIZES) *pgsizes = info->iova_pgsizes;
  if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
    uint32_t off = info->cap_offset;
    while (off && off + sizeof(struct vfio_info_cap_header) <= size) {
      struct vfio_info_cap_header *hdr = (struct vfio_info_cap_header *)((char *)info + off);
      if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
        struct vfio_iommu_type1_info_cap_iova_range *cap = (void *)hdr;
        for (uint32_t i = 0; i < cap->nr_iovas && *count < max; i++) {
          windows[*count].start = cap->iova_ranges[i].start;
          windows[*count].last = cap->iova_ranges[i].end;
          (*count)++;
        }
      } else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
        struct vfio_iommu_type1_info_dma_avail *cap = (void *)hdr;
        *dma_avail = cap->avail;
      }
      off = hdr->next;
    }
  }
  free(info);
  return 0;
}
int cvfio_iommu_map_dma(int fd, struct vfio_iommu_type1_dma_map *m) {
  m->argsz = sizeof(*m);
  return ioctl(fd, VFIO_IOMMU_MAP_DMA, m);
}
int cvfio_iommu_unmap_dma(int fd, struct vfio_iommu_type1_dma_unmap *u) {
  u->argsz = sizeof(*u);
  return ioctl(fd, VFIO_IOMMU_UNMAP_DMA, u);
}

int cvfio_device_bind_iommufd(int dfd, int iommufd, uint32_t *out_devid) {
  struct vfio_device_bind_iommufd b = {.argsz = sizeof(b), .iommufd = iommufd};
  int r = ioctl(dfd, VFIO_DEVICE_BIND_IOMMUFD, &b);
  if (r == 0) *out_devid = b.out_devid;
  return r;
}
int cvfio_device_attach_iommufd_pt(int dfd, uint32_t pt_id) {
  struct vfio_device_attach_iommufd_pt a = {.argsz = sizeof(a), .pt_id = pt_id};
  return ioctl(dfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);
}
int cvfio_device_detach_iommufd_pt(int dfd) {
  struct vfio_device_detach_iommufd_pt d = {.argsz = sizeof(d)};
  return ioctl(dfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d);
}

int cvfio_iommufd_destroy(int fd, uint32_t id) {
  struct iommu_destroy c = {.size = sizeof(c), .id = id};
  return ioctl(fd, IOMMU_DESTROY, &c);
}
int cvfio_iommufd_ioas_alloc(int fd, uint32_t *out) {
  struct iommu_ioas_alloc c = {.size = sizeof(c)};
  int r = ioctl(fd, IOMMU_IOAS_ALLOC, &c);
  if (r == 0) *out = c.out_ioas_id;
  return r;
}
int cvfio_iommufd_ioas_iova_ranges(int fd, uint32_t ioas_id, struct cvfio_iova_window *windows,
                                   uint32_t max, uint32_t *count, uint64_t *alignment) {
  struct iommu_iova_range ranges[16];
  struct iommu_ioas_iova_ranges c = {.size = sizeof(c), .ioas_id = ioas_id, .num_iovas = 16,
                                     .allowed_iovas = (uintptr_t)ranges};
  int r = ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &c);
  if (r != 0) return r;
  *count = 0;
  for (uint32_t i = 0; i < c.num_iovas && i < 16 && *count < max; i++) {
    windows[*count].start = ranges[i].start;
    windows[*count].last = ranges[i].last;
    (*count)++;
  }
  *alignment = c.out_iova_alignment;
  return 0;
}
int cvfio_iommufd_ioas_map(int fd, struct iommu_ioas_map *m) {
  m->size = sizeof(*m);
  return ioctl(fd, IOMMU_IOAS_MAP, m);
}
int cvfio_iommufd_ioas_map_file(int fd, struct iommu_ioas_map_file *m) {
  m->size = sizeof(*m);
  return ioctl(fd, IOMMU_IOAS_MAP_FILE, m);
}
int cvfio_iommufd_ioas_unmap(int fd, struct iommu_ioas_unmap *u) {
  u->size = sizeof(*u);
  return ioctl(fd, IOMMU_IOAS_UNMAP, u);
}

int cvfio_io_uring_setup(uint32_t entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}
int cvfio_io_uring_register_buffers(int fd, const struct iovec *iov, uint32_t n) {
  return (int)syscall(__NR_io_uring_register, fd, IORING_REGISTER_BUFFERS, iov, n);
}
int cvfio_io_uring_unregister_buffers(int fd) {
  return (int)syscall(__NR_io_uring_register, fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
}

/* AF_XDP's uapi (linux/if_xdp.h), spelled out: the layout of 6.8+'s struct xdp_umem_reg, which
   every kernel since 5.4 accepts at this size (older fields first, the rest zero). */
#define CVFIO_AF_XDP 44
#define CVFIO_SOL_XDP 283
#define CVFIO_XDP_UMEM_REG 4
struct cvfio_xdp_umem_reg {
  uint64_t addr;
  uint64_t len;
  uint32_t chunk_size;
  uint32_t headroom;
  uint32_t flags;
  uint32_t tx_metadata_len;
};
int cvfio_xdp_socket(void) { return socket(CVFIO_AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0); }
int cvfio_xdp_umem_reg(int fd, uint64_t addr, uint64_t len, uint32_t chunk_size) {
  struct cvfio_xdp_umem_reg r = {.addr = addr, .len = len, .chunk_size = chunk_size};
  return setsockopt(fd, CVFIO_SOL_XDP, CVFIO_XDP_UMEM_REG, &r, sizeof r);
}

const uint64_t CVFIO_STATX_ATTR_DAX = 0x00200000; /* STATX_ATTR_DAX, 5.8+; absent from older headers */
int cvfio_statx(int dirfd, const char *path, int flags, uint32_t *mode, uint64_t *attrs,
                uint64_t *mask, uint32_t *maj, uint32_t *min) {
  struct statx sx;
  memset(&sx, 0, sizeof(sx));
  int r = statx(dirfd, path, flags, STATX_BASIC_STATS, &sx);
  if (r != 0) return r;
  *mode = sx.stx_mode;
  *attrs = sx.stx_attributes;
  *mask = sx.stx_attributes_mask;
  *maj = sx.stx_dev_major;
  *min = sx.stx_dev_minor;
  return 0;
}
const unsigned int CVFIO_MFD_CLOEXEC = MFD_CLOEXEC;
const unsigned int CVFIO_MFD_HUGETLB = MFD_HUGETLB;
int cvfio_statx_full(int dirfd, const char *path, int flags, struct cvfio_stat *out) {
  struct statx sx;
  memset(out, 0, sizeof(*out));
  if (statx(dirfd, path, flags, STATX_BASIC_STATS, &sx) != 0) return -1;
  out->mode = sx.stx_mode;
  out->uid = sx.stx_uid;
  out->attributes = sx.stx_attributes;
  out->attributes_mask = sx.stx_attributes_mask;
  out->dev_major = sx.stx_dev_major;
  out->dev_minor = sx.stx_dev_minor;
  out->rdev_major = sx.stx_rdev_major;
  out->rdev_minor = sx.stx_rdev_minor;
  out->mtime_sec = sx.stx_mtime.tv_sec;
  return 0;
}

int cvfio_set_dax_flag(int dirfd) {
  struct fsxattr fa;
  if (ioctl(dirfd, FS_IOC_FSGETXATTR, &fa) != 0) return -1;
  if (fa.fsx_xflags & FS_XFLAG_DAX) return 0;
  fa.fsx_xflags |= FS_XFLAG_DAX;
  return ioctl(dirfd, FS_IOC_FSSETXATTR, &fa);
}

long cvfio_getdents64(int fd, void *buf, unsigned long len) { return syscall(SYS_getdents64, fd, buf, len); }

int cvfio_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }
int cvfio_fallocate(int fd, int mode, int64_t off, int64_t len) { return fallocate(fd, mode, off, len); }
const int CVFIO_O_DIRECTORY = O_DIRECTORY;
const int CVFIO_O_NOFOLLOW = O_NOFOLLOW;
const int CVFIO_O_PATH = O_PATH;
const int CVFIO_AT_EMPTY_PATH = AT_EMPTY_PATH;
const int64_t CVFIO_PROC_SUPER_MAGIC = 0x9fa0; /* PROC_SUPER_MAGIC, <linux/magic.h> */
int cvfio_fstatfs_type(int fd, int64_t *f_type) {
  struct statfs s;
  int r = fstatfs(fd, &s);
  if (r == 0) *f_type = (int64_t)s.f_type;
  return r;
}
int cvfio_statfs_type(const char *path, int64_t *f_type) {
  struct statfs s;
  int r = statfs(path, &s);
  if (r == 0) *f_type = (int64_t)s.f_type;
  return r;
}
int cvfio_memlock_limit(uint64_t *soft, uint64_t *hard) {
  struct rlimit l;
  int r = getrlimit(RLIMIT_MEMLOCK, &l);
  if (r == 0) {
    *soft = l.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)l.rlim_cur;
    *hard = l.rlim_max == RLIM_INFINITY ? UINT64_MAX : (uint64_t)l.rlim_max;
  }
  return r;
}

static volatile sig_atomic_t cvfio_caught_signal = 0;
static void cvfio_on_signal(int sig) {
  if (cvfio_caught_signal == 0) cvfio_caught_signal = sig;
}
int cvfio_catch_signal(int sig) {
  struct sigaction old;
  if (sigaction(sig, NULL, &old) != 0) return -1;
  if (old.sa_handler == SIG_IGN) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = cvfio_on_signal;
  sa.sa_flags = 0; /* no SA_RESTART */
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) != 0) return -1;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  return pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0 ? 1 : -1;
}
int cvfio_ignore_signal(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL);
}
int cvfio_default_signal(int sig) {
  struct sigaction old;
  if (sigaction(sig, NULL, &old) != 0) return -1;
  if (old.sa_handler == SIG_IGN) return 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  return sigaction(sig, &sa, NULL) == 0 ? 1 : -1;
}
int cvfio_interrupt_signal(void) { return cvfio_caught_signal; }
void cvfio_reraise_interrupt(void) {
  int sig = cvfio_caught_signal;
  if (!sig) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

