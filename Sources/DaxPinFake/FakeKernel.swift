import DaxPinCore
import Synchronization
import SystemPackage

/// A simulated kernel behind the `Kernel` seam: a small filesystem with mounts (ext4, xfs, tmpfs,
/// DAX or not), a device-DAX character device, VFIO container / group / device, iommufd IOAS,
/// io_uring, anonymous and hugetlb memory — each with the kernel's own errnos for misuse — and the
/// long-term pin policy of a `KernelProfile`. Wrap it in `RecordingKernel` to fail a chosen call
/// or to count what is held.
public final class FakeKernel: Kernel {
  public let profile: KernelProfile
  public let topology: FakeTopology
  /// The lab pmem mode the simulated host's NVDIMM bus stands for (its provider and regions).
  public let pmem: PmemMode
  let state: Mutex<FakeState>

  /// - Parameters:
  ///   - fsdaxMount: how the ext4 and xfs DAX filesystems are mounted.
  ///   - memlockKB: RLIMIT_MEMLOCK when the caller lacks CAP_IPC_LOCK; nil means CAP_IPC_LOCK.
  ///   - dmaEntryLimit: vfio_iommu_type1.dma_entry_limit.
  ///   - memoryAvailable: `MemAvailable` in bytes (nil: /proc does not say).
  ///   - descriptorLimit: RLIMIT_NOFILE: past it an open is EMFILE.
  ///   - pmem: the lab pmem mode whose bus the inventory shows (`e820` for memmap).
  public init(
    profile: KernelProfile, topology: FakeTopology = .full, layout: LabLayout = .standard, fsdaxMount: FakeDAXMount = .always,
    memlockKB: Int? = nil, dmaEntryLimit: Int = 65535, hugetlbPages: Int = 16, groupViable: Bool = true, pmem: PmemMode = .memmap,
    memoryAvailable: Int? = 8 << 30, descriptorLimit: Int = 1024
  ) {
    self.profile = profile
    self.topology = topology
    self.pmem = pmem
    state = Mutex(
      FakeState(
        profile: profile, topology: topology, layout: layout, fsdaxMount: fsdaxMount, memlockKB: memlockKB, dmaEntryLimit: dmaEntryLimit,
        hugetlbPages: hugetlbPages, groupViable: groupViable, pmem: pmem))
    state.withLock {
      $0.memoryAvailable = memoryAvailable
      $0.descriptorLimit = descriptorLimit
    }
  }

  /// Files and directories under `directory` (absolute paths), for tests.
  public func files(under directory: String) -> [String] {
    state.withLock { s in s.nodes.keys.filter { $0.hasPrefix(directory + "/") }.sorted() }
  }
  /// Open descriptors and live mappings in the simulated process.
  public var held: (fds: Int, mappings: Int) { state.withLock { ($0.fds.count, $0.mappings.count) } }
  /// RDMA contexts and memory regions open in the simulated process.
  public var heldRDMA: Int { state.withLock { $0.rdmaContexts.count + $0.rdmaRegions.count } }
  /// Leaves a private directory behind as a run killed by SIGKILL would (tests of the sweep):
  /// `.daxpin-<pid>-<startTime>-<suffix>` under `parent` holding one 2 MiB file; `alive` keeps
  /// that process running. Returns its path.
  @discardableResult
  public func leaveRunDirectory(_ suffix: String, in parent: String, pid: Int32, startTime: UInt64, alive: Bool, owner: UInt32 = 0) -> String {
    state.withLock { s in
      let dir = "\(parent)/.daxpin-\(pid)-\(startTime)-\(suffix)"
      s.nodes[dir] = Node(kind: .directory(daxFlag: false), owner: owner, permissions: 0o700)
      s.nodes["\(dir)/anon-1"] = Node(kind: .file(size: 2 << 20, daxFlag: false), owner: owner, permissions: 0o600)
      if alive { s.otherProcesses[pid] = startTime }
      return dir
    }
  }

  // MARK: the seam

  private func call<T>(_ body: (inout FakeState) -> Result<T, Errno>) -> Result<T, Errno> { state.withLock { body(&$0) } }

  public func open(_ path: String, in directory: FileDescriptor?, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    call { $0.open(path, in: directory?.rawValue, writable: writable, create: create) }
  }
  public func openDirectory(_ path: String, in directory: FileDescriptor?) -> Result<FileDescriptor, Errno> {
    call { $0.openDirectory(path, in: directory?.rawValue) }
  }
  public func close(_ fd: FileDescriptor) { state.withLock { $0.close(fd.rawValue) } }
  public func makeDirectory(_ name: String, in directory: FileDescriptor) -> Result<Void, Errno> {
    call { $0.makeDirectory(name, in: directory.rawValue) }
  }
  public func unlink(_ name: String, in directory: FileDescriptor, directory isDirectory: Bool) -> Result<Void, Errno> {
    call { $0.unlink(name, in: directory.rawValue, directory: isDirectory) }
  }
  public func entries(_ directory: FileDescriptor) -> Result<[String], Errno> { call { $0.entries(directory.rawValue) } }
  public func lock(_ directory: FileDescriptor) -> Result<Void, Errno> { call { $0.lock(directory.rawValue) } }
  public func memfdCreate(name: String) -> Result<FileDescriptor, Errno> { call { $0.memfd(name) } }
  public func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call { $0.truncate(fd.rawValue, length) } }
  public func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call { $0.allocate(fd.rawValue, length) } }
  public func status(_ path: String) -> Result<FileStatus, Errno> { call { $0.status(path) } }
  public func status(of fd: FileDescriptor) -> Result<FileStatus, Errno> { call { $0.status(of: fd.rawValue) } }
  public func filesystem(_ path: String) -> Result<FilesystemInfo, Errno> { call { $0.filesystem(path) } }
  public func setDAXFlag(_ directory: FileDescriptor) -> Result<Void, Errno> { call { $0.setDAXFlag(directory.rawValue) } }
  public func characterDevice(_ path: String) -> Result<CharacterDevice, Errno> { call { $0.characterDevice(path) } }
  public func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno> {
    call { $0.mmap(length, protection, source) }
  }
  public func unmap(_ m: Mapping) -> Result<Void, Errno> { state.withLock { s in s.munmap(m) } }
  public func protect(_ m: Mapping, _ p: Protection) -> Result<Void, Errno> { call { $0.mprotect(m, p) } }
  public func fault(_ m: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno> { call { $0.fault(m, write: write) } }
  public func vma(_ m: Mapping) -> Result<VMAInfo, Errno> { call { $0.vma(m) } }
  public func pinAccounting() -> PinAccounting? { state.withLock { PinAccounting(pinnedKB: $0.pinnedKB, lockedKB: $0.lockedKB) } }
  public func advise(_ m: Mapping, _ advice: MemoryAdvice) -> Result<Void, Errno> { call { $0.madvise(m, advice) } }
  public func memoryAvailable() -> Int? { state.withLock { $0.memoryAvailable } }

  public func vfioAPIVersion(_ c: FileDescriptor) -> Result<Int32, Errno> { call { $0.container(c.rawValue).map { _ in 0 } } }
  public func vfioCheckExtension(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Bool, Errno> {
    call { $0.container(c.rawValue).map { _ in t != .noiommu } }
  }
  public func vfioGroupStatus(_ g: FileDescriptor) -> Result<VFIOGroupStatus, Errno> { call { $0.groupStatus(g.rawValue) } }
  public func vfioGroupSetContainer(_ g: FileDescriptor, _ c: FileDescriptor) -> Result<Void, Errno> {
    call { $0.setContainer(g.rawValue, c.rawValue) }
  }
  public func vfioGroupUnsetContainer(_ g: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.unsetContainer(g.rawValue) }
  }
  public func vfioGroupGetDeviceFD(_ g: FileDescriptor, device: String) -> Result<FileDescriptor, Errno> {
    call { $0.groupDevice(g.rawValue, device) }
  }
  public func vfioSetIOMMU(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Void, Errno> { call { $0.setIOMMU(c.rawValue, t) } }
  public func vfioIOMMUInfo(_ c: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno> { call { $0.iommuInfo(c.rawValue) } }
  public func vfioMapDMA(_ c: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> { call { $0.mapDMA(c.rawValue, m) } }
  public func vfioUnmapDMA(_ c: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> {
    call { $0.unmapDMA(c.rawValue, iova: iova, size: size) }
  }

  public func vfioDeviceBindIOMMUFD(_ d: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno> {
    call { $0.bind(d.rawValue, iommufd.rawValue) }
  }
  public func vfioDeviceAttachIOMMUFDPT(_ d: FileDescriptor, ptID: UInt32) -> Result<Void, Errno> {
    call { $0.attach(d.rawValue, ptID) }
  }
  public func vfioDeviceDetachIOMMUFDPT(_ d: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.detach(d.rawValue) }
  }
  public func iommufdAllocIOAS(_ fd: FileDescriptor) -> Result<UInt32, Errno> { call { $0.allocIOAS(fd.rawValue) } }
  public func iommufdIOVARanges(_ fd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno> {
    call { $0.iommufd(fd.rawValue).map { _ in FakeState.iovaWindows } }
  }
  public func iommufdMap(_ fd: FileDescriptor, ioas: UInt32, _ m: DMAMapping) -> Result<Void, Errno> {
    call { $0.ioasMap(fd.rawValue, ioas, m, file: nil) }
  }
  public func iommufdMapFile(_ fd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    call { $0.ioasMap(fd.rawValue, ioas, m, file: file.rawValue) }
  }
  public func iommufdUnmap(_ fd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> {
    state.withLock { s in s.ioasUnmap(fd.rawValue, ioas, iova: iova, length: length) }
  }
  public func iommufdDestroy(_ fd: FileDescriptor, id: UInt32) -> Result<Void, Errno> {
    state.withLock { s in s.destroy(fd.rawValue, id) }
  }

  public func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno> { call { $0.ringSetup() } }
  public func ioUringRegisterBuffers(_ ring: FileDescriptor, _ buffers: [Mapping]) -> Result<Void, Errno> {
    call { $0.register(ring.rawValue, buffers) }
  }
  public func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.unregister(ring.rawValue) }
  }

  public func rdmaOpen() -> Result<RDMAContext, Errno> { call { $0.rdmaOpen() } }
  public func rdmaRegisterMR(_ c: RDMAContext, _ m: Mapping, access: RDMAAccess) -> Result<RDMAMemoryRegion, Errno> {
    call { $0.rdmaRegisterMR(c, m, access: access) }
  }
  public func rdmaDeregisterMR(_ mr: RDMAMemoryRegion) -> Result<Void, Errno> { call { $0.rdmaDeregisterMR(mr) } }
  public func rdmaClose(_ c: RDMAContext) { state.withLock { $0.rdmaClose(c) } }
  public func xdpSocket() -> Result<FileDescriptor, Errno> { call { $0.xdpSocket() } }
  public func xdpRegisterUMEM(_ s: FileDescriptor, _ m: Mapping, chunkSize: UInt32) -> Result<Void, Errno> {
    call { $0.xdpRegisterUMEM(s.rawValue, m, chunkSize: chunkSize) }
  }
  public func bindMemory(_ m: Mapping, node: Int) -> Result<Void, Errno> { call { $0.bind(m, node: node) } }
  public func pageFrames(_ m: Mapping) -> Result<[UInt64?], Errno> { call { $0.pageFrames(m) } }
  public func frameLocations(_ frames: [UInt64]) -> Result<[FrameLocation], Errno> {
    state.withLock { s in .success(frames.map { s.location($0) }) }
  }
  /// The fake truncates at once and knows the answers then; the hold hands them over on release.
  public func holdPagesAndTruncate(_ targets: [HeldTruncateTarget], holdMs: Int) -> HeldTruncateHold {
    let answers = targets.map { t in call { $0.truncateUnderHeldPages(t.file.rawValue, t.mapping, heldBytes: t.heldBytes) } }
    return HeldTruncateHold { ending in
      guard case .released = ending else { return [] }
      return answers
    }
  }

  public func currentProcess() -> ProcessIdentity { FakeState.me }
  public func processStartTime(_ pid: Int32) -> Result<UInt64, Errno> {
    state.withLock { s in
      pid == FakeState.me.pid ? .success(FakeState.me.startTime) : s.otherProcesses[pid].map { .success($0) } ?? .failure(.noSuchProcess)
    }
  }
  public func pendingSignal() -> Int32? { state.withLock { $0.pendingSignal } }
  public func descriptorHeadroom() -> Int? { state.withLock { $0.descriptorLimit - $0.fds.count } }
  public func raise(_ signal: Int32) { state.withLock { $0.pendingSignal = $0.pendingSignal ?? signal } }
}
