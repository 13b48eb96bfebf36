import SystemPackage

/// The seam between daxpin and a kernel: one requirement per kernel operation the probe makes.
///
/// `DaxPinLinux.LinuxKernel` implements it with real syscalls; `DaxPinFake.FakeKernel` with a
/// simulated kernel; `RecordingKernel` wraps either to count calls, fail one on purpose and keep
/// the books on what is held. Every call returns the kernel's answer as a value or an `Errno` —
/// nothing turns an errno into a string before the report. The probe engine is written once,
/// against this. Every requirement is named in `KernelCall`.
public protocol Kernel: Sendable {
  // MARK: files and directories

  /// `openat(2)` of `path` relative to `directory` (nil: the working directory), with
  /// `O_NOFOLLOW | O_CLOEXEC` always; `create` adds `O_CREAT | O_EXCL` with mode 0600.
  func open(_ path: String, in directory: FileDescriptor?, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno>
  /// `openat(2)` with `O_DIRECTORY | O_NOFOLLOW | O_RDONLY`: a directory fd to create in.
  func openDirectory(_ path: String, in directory: FileDescriptor?) -> Result<FileDescriptor, Errno>
  /// `close(2)`.
  func close(_ fd: FileDescriptor)
  /// `mkdirat(2)` with mode 0700.
  func makeDirectory(_ name: String, in directory: FileDescriptor) -> Result<Void, Errno>
  /// `unlinkat(2)`; `directory` adds `AT_REMOVEDIR`.
  func unlink(_ name: String, in directory: FileDescriptor, directory isDirectory: Bool) -> Result<Void, Errno>
  /// `getdents64(2)`: the names in a directory, without `.` and `..`.
  func entries(_ directory: FileDescriptor) -> Result<[String], Errno>
  /// `flock(2)` with `LOCK_EX | LOCK_NB` on an open directory: held until the descriptor is closed,
  /// and dropped by the kernel when the process dies (SIGKILL included); EWOULDBLOCK while another
  /// open of it holds the lock. A run holds it on its private directory, so no sweep in another pid
  /// namespace, where its pid means nothing, takes it for a dead run's.
  func lock(_ directory: FileDescriptor) -> Result<Void, Errno>
  /// `memfd_create(2)` with `MFD_CLOEXEC`.
  func memfdCreate(name: String) -> Result<FileDescriptor, Errno>
  /// `ftruncate(2)`.
  func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno>
  /// `fallocate(2)` mode 0: allocate blocks so faults need none (EOPNOTSUPP where unsupported).
  func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno>
  /// `statx(2)` of a path without following a final symlink.
  func status(_ path: String) -> Result<FileStatus, Errno>
  /// `statx(2)` of an open file (`AT_EMPTY_PATH`).
  func status(of fd: FileDescriptor) -> Result<FileStatus, Errno>
  /// `statfs(2)` f_type, and whether the filesystem sits on a block device (`/sys/dev/block`).
  func filesystem(_ path: String) -> Result<FilesystemInfo, Errno>
  /// `FS_IOC_FSGETXATTR` + `FS_IOC_FSSETXATTR` adding `FS_XFLAG_DAX` to a directory, so files
  /// created in it use DAX on a filesystem mounted `-o dax=inode`.
  func setDAXFlag(_ directory: FileDescriptor) -> Result<Void, Errno>
  /// A character device node (followed through symlinks, as `open` of a device would be): its
  /// number, the sysfs subsystem behind `/sys/dev/char/MAJ:MIN`, and for a device-DAX device
  /// its `align`.
  func characterDevice(_ path: String) -> Result<CharacterDevice, Errno>

  // MARK: memory

  /// `mmap(2)` of `length` bytes.
  func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno>
  /// `munmap(2)`.
  func unmap(_ mapping: Mapping) -> Result<Void, Errno>
  /// `mprotect(2)`.
  func protect(_ mapping: Mapping, _ protection: Protection) -> Result<Void, Errno>
  /// Touches every page (`pageSize` apart) by reading or writing one byte, so every page is
  /// faulted in before a pin and an EFAULT can only be the kernel's policy.
  func fault(_ mapping: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno>
  /// The VMA holding `mapping.address`, from `/proc/self/smaps`.
  func vma(_ mapping: Mapping) -> Result<VMAInfo, Errno>
  /// `VmPin` and `VmLck` of this process; nil where /proc does not say.
  func pinAccounting() -> PinAccounting?
  /// `madvise(2)` with `MADV_HUGEPAGE` or `MADV_NOHUGEPAGE` over the whole mapping.
  func advise(_ mapping: Mapping, _ advice: MemoryAdvice) -> Result<Void, Errno>
  /// `MemAvailable` of `/proc/meminfo` in bytes: what can be faulted in without swapping; nil
  /// where /proc does not say.
  func memoryAvailable() -> Int?

  // MARK: VFIO container and group

  /// `VFIO_GET_API_VERSION` on a container.
  func vfioAPIVersion(_ container: FileDescriptor) -> Result<Int32, Errno>
  /// `VFIO_CHECK_EXTENSION`: does the container support this IOMMU backend.
  func vfioCheckExtension(_ container: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Bool, Errno>
  /// `VFIO_GROUP_GET_STATUS`.
  func vfioGroupStatus(_ group: FileDescriptor) -> Result<VFIOGroupStatus, Errno>
  /// `VFIO_GROUP_SET_CONTAINER`.
  func vfioGroupSetContainer(_ group: FileDescriptor, _ container: FileDescriptor) -> Result<Void, Errno>
  /// `VFIO_GROUP_UNSET_CONTAINER`.
  func vfioGroupUnsetContainer(_ group: FileDescriptor) -> Result<Void, Errno>
  /// `VFIO_GROUP_GET_DEVICE_FD`: opens a device of the group by name (`0000:00:03.0`). With
  /// iommufd's compat container this is what binds the device to the IOAS and gives it a domain.
  func vfioGroupGetDeviceFD(_ group: FileDescriptor, device: String) -> Result<FileDescriptor, Errno>
  /// `VFIO_SET_IOMMU`: attach the container's groups to an IOMMU domain of this backend.
  func vfioSetIOMMU(_ container: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Void, Errno>
  /// `VFIO_IOMMU_GET_INFO`: IOVA windows, page sizes, DMA mappings available.
  func vfioIOMMUInfo(_ container: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno>
  /// `VFIO_IOMMU_MAP_DMA`: pins the pages long-term and maps them at `iova`.
  func vfioMapDMA(_ container: FileDescriptor, _ mapping: DMAMapping) -> Result<Void, Errno>
  /// `VFIO_IOMMU_UNMAP_DMA`: returns the size the kernel unmapped.
  func vfioUnmapDMA(_ container: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno>

  // MARK: vfio device cdev and iommufd

  /// `VFIO_DEVICE_BIND_IOMMUFD`: returns the iommufd device id.
  func vfioDeviceBindIOMMUFD(_ device: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno>
  /// `VFIO_DEVICE_ATTACH_IOMMUFD_PT`: attach the device to an IOAS (creating its domain).
  func vfioDeviceAttachIOMMUFDPT(_ device: FileDescriptor, ptID: UInt32) -> Result<Void, Errno>
  /// `VFIO_DEVICE_DETACH_IOMMUFD_PT`.
  func vfioDeviceDetachIOMMUFDPT(_ device: FileDescriptor) -> Result<Void, Errno>
  /// `IOMMU_IOAS_ALLOC`: a new I/O address space; returns its id.
  func iommufdAllocIOAS(_ iommufd: FileDescriptor) -> Result<UInt32, Errno>
  /// `IOMMU_IOAS_IOVA_RANGES`.
  func iommufdIOVARanges(_ iommufd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno>
  /// `IOMMU_IOAS_MAP` at a fixed IOVA: pins (when a domain is attached) and maps.
  func iommufdMap(_ iommufd: FileDescriptor, ioas: UInt32, _ mapping: DMAMapping) -> Result<Void, Errno>
  /// `IOMMU_IOAS_MAP_FILE` at a fixed IOVA: `mapping.vaddr` is the offset in `file`.
  func iommufdMapFile(_ iommufd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ mapping: DMAMapping)
    -> Result<Void, Errno>
  /// `IOMMU_IOAS_UNMAP`: returns the length the kernel unmapped.
  func iommufdUnmap(_ iommufd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno>
  /// `IOMMU_DESTROY`.
  func iommufdDestroy(_ iommufd: FileDescriptor, id: UInt32) -> Result<Void, Errno>

  // MARK: io_uring

  /// `io_uring_setup(2)`.
  func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno>
  /// `io_uring_register(IORING_REGISTER_BUFFERS)`: pins the buffers long-term.
  func ioUringRegisterBuffers(_ ring: FileDescriptor, _ buffers: [Mapping]) -> Result<Void, Errno>
  /// `io_uring_register(IORING_UNREGISTER_BUFFERS)`.
  func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno>

  // MARK: RDMA (libibverbs) and AF_XDP

  /// libibverbs: `ibv_get_device_list`, `ibv_open_device` of the first device, `ibv_alloc_pd`
  /// and `ibv_query_device_ex` (its `odp_caps`). ELIBACC: libibverbs is not installed; ENODEV: no
  /// RDMA device.
  func rdmaOpen() -> Result<RDMAContext, Errno>
  /// `ibv_reg_mr` of `mapping` in the context's protection domain: `ib_umem_get` pins the pages
  /// long-term (or, with `IBV_ACCESS_ON_DEMAND`, `ib_umem_odp_get` registers them unpinned).
  func rdmaRegisterMR(_ context: RDMAContext, _ mapping: Mapping, access: RDMAAccess) -> Result<RDMAMemoryRegion, Errno>
  /// `ibv_dereg_mr`: unpins what `rdmaRegisterMR` pinned.
  func rdmaDeregisterMR(_ region: RDMAMemoryRegion) -> Result<Void, Errno>
  /// `ibv_dealloc_pd` and `ibv_close_device`.
  func rdmaClose(_ context: RDMAContext)
  /// `socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0)`: EAFNOSUPPORT without CONFIG_XDP_SOCKETS.
  func xdpSocket() -> Result<FileDescriptor, Errno>
  /// `setsockopt(SOL_XDP, XDP_UMEM_REG)` of `mapping` in chunks of `chunkSize`, no headroom:
  /// `xdp_umem_pin_pages` pins the UMEM until the socket is closed.
  func xdpRegisterUMEM(_ socket: FileDescriptor, _ mapping: Mapping, chunkSize: UInt32) -> Result<Void, Errno>
  // MARK: page frames, movable memory, truncate under a held page

  /// `mbind(2)` of `mapping` with `MPOL_BIND` to NUMA node `node` (`MPOL_MF_STRICT`), before
  /// it is faulted: its pages then come from that node only (EINVAL for a node without memory).
  func bindMemory(_ mapping: Mapping, node: Int) -> Result<Void, Errno>
  /// `/proc/self/pagemap`: the page frame number of each 4 KiB page of `mapping`, nil for a page
  /// not present (or whose frame the kernel hides: without CAP_SYS_ADMIN it reports 0).
  func pageFrames(_ mapping: Mapping) -> Result<[UInt64?], Errno>
  /// The memory block of each frame (`/sys/devices/system/memory/block_size_bytes`,
  /// `memoryN/valid_zones` and its `nodeM` link): node and zone, both nil for a frame in no
  /// memory block (ZONE_DEVICE). ENOENT when the kernel has no memory block devices.
  func frameLocations(_ frames: [UInt64]) -> Result<[FrameLocation], Errno>
  /// Begins the truncate-under-a-held-page measurement for every target at once: `vmsplice(2)`
  /// of the first `heldBytes` of each target's `mapping` (a `MAP_SHARED` mapping of its `file`)
  /// into a new pipe nobody reads, and `ftruncate(file, 0)` on a thread of its own. The pages
  /// stay held until `HeldTruncateHold.release(waitMs:)`, and at least `holdMs` from this call
  /// unless every truncate has returned sooner, so the caller can do other work meanwhile. A
  /// target whose pipe, vmsplice or thread could not be had fails alone (in its answer).
  func holdPagesAndTruncate(_ targets: [HeldTruncateTarget], holdMs: Int) -> HeldTruncateHold

  // MARK: process

  /// This process: pid, effective uid and start time (`/proc/self/stat` field 22).
  func currentProcess() -> ProcessIdentity
  /// The start time of process `pid` (ESRCH when no such process lives).
  func processStartTime(_ pid: Int32) -> Result<UInt64, Errno>
  /// A terminating signal that arrived since the run started (the probe then stops between
  /// steps, releases everything and ends by that signal); nil when none did.
  func pendingSignal() -> Int32?
  /// How many more descriptors this process may open: `RLIMIT_NOFILE`'s soft limit less the
  /// descriptors open now (`/proc/self/fd`); nil when unknown.
  func descriptorHeadroom() -> Int?
  /// `kill(getpid(), signal)`: used only by `--interrupt-after` to test the cleanup path.
  func raise(_ signal: Int32)
}

extension Kernel {
  /// `open(2)` of an absolute path (a device node, a VFIO node).
  public func open(_ path: String, writable: Bool) -> Result<FileDescriptor, Errno> {
    open(path, in: nil, writable: writable, create: false)
  }
}
