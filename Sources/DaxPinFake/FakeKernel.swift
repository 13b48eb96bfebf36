import DaxPinCore
import Synchronization
import SystemPackage

/// A simulated kernel behind the `Kernel` seam: a small filesystem with mounts (ext4, xfs, tmpfs,
/// DAX or not), a device-DAX character device, VFIO container / group / device, iommufd IOAS,
/// io_uring, anonymous and hugetlb memory — each with the kernel's own errnos for misuse — and the
/// long-term pin policy of a `KernelProfile`. Every call can be made to fail with a chosen errno
/// on its Nth use (`inject`).
public final class FakeKernel: Kernel {
  public let profile: KernelProfile
  public let topology: FakeTopology
  let state: Mutex<FakeState>

  /// - Parameters:
  ///   - memlockKB: RLIMIT_MEMLOCK when the caller lacks CAP_IPC_LOCK; nil means CAP_IPC_LOCK.
  ///   - dmaEntryLimit: vfio_iommu_type1.dma_entry_limit.
  public init(
    profile: KernelProfile, topology: FakeTopology = .full, memlockKB: Int? = nil, dmaEntryLimit: Int = 65535,
    hugetlbPages: Int = 16, groupViable: Bool = true
  ) {
    self.profile = profile
    self.topology = topology
    state = Mutex(
      FakeState(
        profile: profile, topology: topology, memlockKB: memlockKB, dmaEntryLimit: dmaEntryLimit, hugetlbPages: hugetlbPages,
        groupViable: groupViable))
  }

  // MARK: fault injection and bookkeeping

  /// Fails the `nth` use (1-based) of seam call `call` (the requirement's name, e.g. "vfioMapDMA")
  /// with `errno`.
  public func inject(_ call: String, onUse nth: Int, errno: Errno) {
    state.withLock { $0.injections.append(Injection(call: call, nth: nth, errno: errno)) }
  }

  /// Every seam call made so far, in order.
  public var trace: [String] { state.withLock { $0.trace } }
  /// Open descriptors, live mappings, and files or directories created since the start.
  public var held: (fds: Int, mappings: Int, created: Int) {
    state.withLock { ($0.fds.count, $0.mappings.count, $0.nodes.count - $0.initialNodes) }
  }
  /// Makes `interruptRequested()` answer true from the `n`th call on (a simulated SIGINT).
  public func interrupt(afterCalls n: Int) { state.withLock { $0.interruptAt = n } }

  /// The errnos a real kernel can return from each call the probe makes, for fault-injection walks.
  /// Calls that release what the probe holds (close, munmap, rmdir, unlink, unset, detach,
  /// destroy, unregister) cannot fail on Linux for valid arguments and are not injected.
  public static func errnos(for call: String) -> [Errno] {
    switch call {
    case "open": [.noSuchFileOrDirectory, .permissionDenied, .resourceBusy, .tooManyOpenFiles, .fileExists]
    case "memfdCreate": [.tooManyOpenFiles, .noMemory]
    case "truncate", "allocate": [.ioError, .noSpace, .fileTooLarge]
    case "makeTemporaryDirectory": [.permissionDenied, .noSpace, .readOnlyFileSystem]
    case "status", "filesystem": [.noSuchFileOrDirectory, .permissionDenied, .ioError]
    case "map": [.noMemory, .invalidArgument, .permissionDenied]
    case "protect": [.noMemory, .invalidArgument]
    case "fault": [.badAddress]
    case "vma": [.noSuchFileOrDirectory, .noMemory]
    case "vfioAPIVersion", "vfioCheckExtension", "vfioGroupStatus", "vfioIOMMUInfo": [.inappropriateIOCTLForDevice, .invalidArgument]
    case "vfioGroupSetContainer": [.notPermitted, .resourceBusy, .invalidArgument]
    case "vfioSetIOMMU": [.resourceBusy, .invalidArgument, .operationNotSupportedByDevice]
    case "vfioGroupGetDeviceFD": [.invalidArgument, .resourceBusy, .noSuchFileOrDirectory]
    case "vfioMapDMA": [.invalidArgument, .fileExists, .noSpace, .noMemory, .badAddress, .notSupported]
    case "vfioUnmapDMA": [.invalidArgument]
    case "ioUringSetup": [.noMemory, .notPermitted, .tooManyOpenFiles]
    case "ioUringRegisterBuffers": [.noMemory, .badAddress, .notSupported, .resourceBusy, .invalidArgument]
    case "vfioDeviceBindIOMMUFD", "vfioDeviceAttachIOMMUFDPT", "iommufdAllocIOAS", "iommufdIOVARanges": [.invalidArgument, .resourceBusy]
    case "iommufdMap", "iommufdMapFile": [.invalidArgument, .noMemory, .badAddress, .notSupported]
    default: []
    }
  }

  /// Records the call and returns the injected errno when this use is the one to fail.
  private func enter(_ s: inout FakeState, _ call: String) -> Errno? {
    s.trace.append(call)
    s.uses[call, default: 0] += 1
    let n = s.uses[call]!
    return s.injections.first { $0.call == call && $0.nth == n }?.errno
  }

  private func call<T>(_ name: String, _ body: (inout FakeState) -> Result<T, Errno>) -> Result<T, Errno> {
    state.withLock { s in
      if let e = enter(&s, name) { return .failure(e) }
      return body(&s)
    }
  }

  // MARK: the seam

  public func open(_ path: String, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    call("open") { $0.open(path, writable: writable, create: create) }
  }
  public func close(_ fd: FileDescriptor) { state.withLock { s in s.trace.append("close"); s.close(fd.rawValue) } }
  public func memfdCreate(name: String) -> Result<FileDescriptor, Errno> { call("memfdCreate") { $0.memfd(name) } }
  public func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call("truncate") { $0.truncate(fd.rawValue, length) } }
  public func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call("allocate") { $0.allocate(fd.rawValue, length) } }
  public func makeTemporaryDirectory(in parent: String) -> Result<String, Errno> { call("makeTemporaryDirectory") { $0.mkdtemp(parent) } }
  public func unlink(_ path: String) -> Result<Void, Errno> { state.withLock { s in s.trace.append("unlink"); return s.unlink(path) } }
  public func removeDirectory(_ path: String) -> Result<Void, Errno> { state.withLock { s in s.trace.append("removeDirectory"); return s.rmdir(path) } }
  public func status(_ path: String) -> Result<FileStatus, Errno> { call("status") { $0.status(path) } }
  public func filesystem(_ path: String) -> Result<FilesystemMagic, Errno> { call("filesystem") { $0.filesystem(path) } }
  public func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno> {
    call("map") { $0.mmap(length, protection, source) }
  }
  public func unmap(_ m: Mapping) -> Result<Void, Errno> { state.withLock { s in s.trace.append("unmap"); return s.munmap(m) } }
  public func protect(_ m: Mapping, _ p: Protection) -> Result<Void, Errno> { call("protect") { $0.mprotect(m, p) } }
  public func fault(_ m: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno> { call("fault") { $0.fault(m, write: write) } }
  public func vma(_ m: Mapping) -> Result<VMAInfo, Errno> { call("vma") { $0.vma(m) } }
  public func pinAccounting() -> PinAccounting? { state.withLock { PinAccounting(pinnedKB: $0.pinnedKB, lockedKB: $0.lockedKB) } }

  public func vfioAPIVersion(_ c: FileDescriptor) -> Result<Int32, Errno> { call("vfioAPIVersion") { $0.container(c.rawValue).map { _ in 0 } } }
  public func vfioCheckExtension(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Bool, Errno> {
    call("vfioCheckExtension") { $0.container(c.rawValue).map { _ in t != .noiommu } }
  }
  public func vfioGroupStatus(_ g: FileDescriptor) -> Result<VFIOGroupStatus, Errno> { call("vfioGroupStatus") { $0.groupStatus(g.rawValue) } }
  public func vfioGroupSetContainer(_ g: FileDescriptor, _ c: FileDescriptor) -> Result<Void, Errno> {
    call("vfioGroupSetContainer") { $0.setContainer(g.rawValue, c.rawValue) }
  }
  public func vfioGroupUnsetContainer(_ g: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.trace.append("vfioGroupUnsetContainer"); return s.unsetContainer(g.rawValue) }
  }
  public func vfioGroupGetDeviceFD(_ g: FileDescriptor, device: String) -> Result<FileDescriptor, Errno> {
    call("vfioGroupGetDeviceFD") { $0.groupDevice(g.rawValue, device) }
  }
  public func vfioSetIOMMU(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Void, Errno> { call("vfioSetIOMMU") { $0.setIOMMU(c.rawValue, t) } }
  public func vfioIOMMUInfo(_ c: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno> { call("vfioIOMMUInfo") { $0.iommuInfo(c.rawValue) } }
  public func vfioMapDMA(_ c: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> { call("vfioMapDMA") { $0.mapDMA(c.rawValue, m) } }
  public func vfioUnmapDMA(_ c: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> {
    call("vfioUnmapDMA") { $0.unmapDMA(c.rawValue, iova: iova, size: size) }
  }

  public func vfioDeviceBindIOMMUFD(_ d: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno> {
    call("vfioDeviceBindIOMMUFD") { $0.bind(d.rawValue, iommufd.rawValue) }
  }
  public func vfioDeviceAttachIOMMUFDPT(_ d: FileDescriptor, ptID: UInt32) -> Result<Void, Errno> {
    call("vfioDeviceAttachIOMMUFDPT") { $0.attach(d.rawValue, ptID) }
  }
  public func vfioDeviceDetachIOMMUFDPT(_ d: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.trace.append("vfioDeviceDetachIOMMUFDPT"); return s.detach(d.rawValue) }
  }
  public func iommufdAllocIOAS(_ fd: FileDescriptor) -> Result<UInt32, Errno> { call("iommufdAllocIOAS") { $0.allocIOAS(fd.rawValue) } }
  public func iommufdIOVARanges(_ fd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno> {
    call("iommufdIOVARanges") { $0.iommufd(fd.rawValue).map { _ in FakeState.iovaWindows } }
  }
  public func iommufdMap(_ fd: FileDescriptor, ioas: UInt32, _ m: DMAMapping) -> Result<Void, Errno> {
    call("iommufdMap") { $0.ioasMap(fd.rawValue, ioas, m, file: nil) }
  }
  public func iommufdMapFile(_ fd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    call("iommufdMapFile") { $0.ioasMap(fd.rawValue, ioas, m, file: file.rawValue) }
  }
  public func iommufdUnmap(_ fd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> {
    state.withLock { s in s.trace.append("iommufdUnmap"); return s.ioasUnmap(fd.rawValue, ioas, iova: iova, length: length) }
  }
  public func iommufdDestroy(_ fd: FileDescriptor, id: UInt32) -> Result<Void, Errno> {
    state.withLock { s in s.trace.append("iommufdDestroy"); return s.destroy(fd.rawValue, id) }
  }

  public func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno> { call("ioUringSetup") { $0.ringSetup() } }
  public func ioUringRegisterBuffers(_ ring: FileDescriptor, _ buffers: [Mapping]) -> Result<Void, Errno> {
    call("ioUringRegisterBuffers") { $0.register(ring.rawValue, buffers) }
  }
  public func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno> {
    state.withLock { s in s.trace.append("ioUringUnregisterBuffers"); return s.unregister(ring.rawValue) }
  }

  public func interruptRequested() -> Bool { state.withLock { s in s.interruptAt.map { s.trace.count >= $0 } ?? false } }
}

struct Injection {
  var call: String
  var nth: Int
  var errno: Errno
}
