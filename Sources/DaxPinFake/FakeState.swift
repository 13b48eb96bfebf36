import DaxPinCore
import SystemPackage

/// Where a mapping's pages come from, as the kernel's GUP sees the VMA.
enum Backing: Equatable {
  case anon, hugetlb, shmem, pagecache, fsdax, devdax
}

/// How a simulated filesystem is mounted with respect to DAX.
public enum FakeDAXMount: Sendable, Equatable {
  /// `-o dax=always` (or `-o dax`) on a pmem namespace: every file is DAX.
  case always
  /// `-o dax=inode` on a pmem namespace: files are DAX where `FS_XFLAG_DAX` is set (inherited
  /// from their directory).
  case inode
  /// `-o dax=inode` on a device without DAX support (a loop device): the flag can be set, no
  /// file ever becomes DAX.
  case inodeWithoutDAXDevice
}

/// A mounted filesystem of the simulated host.
struct Mount {
  var path: String
  var magic: FilesystemMagic
  /// nil: mounted without DAX.
  var dax: FakeDAXMount?
  var blockBacked: Bool
  var device: DeviceNumber
  /// The pmem block device under an fsdax mount (`pmem0`), for the inventory.
  var source: String?
}

/// A file, directory or device node.
struct Node {
  enum Kind: Equatable {
    /// `daxFlag`: FS_XFLAG_DAX, inherited by files created inside.
    case directory(daxFlag: Bool)
    case file(size: Int, daxFlag: Bool)
    case devdax(align: Int, size: Int)
    case vfioContainer, vfioGroup(id: Int), vfioDevice, iommu, null, zero
  }
  var kind: Kind
  var owner: UInt32 = 0
  var permissions: UInt32 = 0o755
  var isDirectory: Bool { if case .directory = kind { true } else { false } }
}

/// What an open file descriptor refers to.
enum OpenObject {
  case file(path: String)
  case directory(path: String)
  case memfd(size: Int)
  case devdax(path: String)
  case container(ContainerState)
  case group(id: Int, container: Int32?)
  case device(bound: Int32?, attached: UInt32?)
  /// A device opened from its group with VFIO_GROUP_GET_DEVICE_FD, through this container fd.
  case groupDevice(container: Int32)
  case iommufd(IOMMUFDState)
  case ring(registered: [Mapping])
  /// An AF_XDP socket and the size of its registered UMEM (nil: none yet).
  case xdpSocket(umemKB: Int?)
  case null
}

struct ContainerState {
  var groups: Set<Int> = []
  var iommu: VFIOIOMMUType?
  var dma: [(iova: UInt64, size: UInt64, kb: Int)] = []
  /// `/dev/iommu` opened as a type1 container (IOMMUFD_VFIO_CONTAINER).
  var compat = false
  /// Devices opened with VFIO_GROUP_GET_DEVICE_FD: the compat IOAS has a domain only with one.
  var openDevices = 0
}

struct IOMMUFDState {
  /// The same fd used as a VFIO type1 container (compat).
  var compat = ContainerState(compat: true)
  var nextID: UInt32 = 1
  var ioas: [UInt32: [(iova: UInt64, length: UInt64, kb: Int)]] = [:]
  /// IOAS ids with a device attached: only those pin.
  var attached: Set<UInt32> = []
}

struct FakeMapping {
  var mapping: Mapping
  var backing: Backing
  var shared: Bool
  var writable: Bool
  var path: String
  var fileSize: Int?
  /// MAP_PRIVATE file pages replaced by anonymous copies (written before the pin).
  var copiedOnWrite = false
  var faulted = false
  /// `mbind(MPOL_BIND)` node.
  var node: Int?
  /// The page frame of each 4 KiB page once faulted (`FakeFrames`).
  var frames: [UInt64] = []
  /// `madvise` MADV_HUGEPAGE / MADV_NOHUGEPAGE given to the range.
  var advice: MemoryAdvice?
}

struct FakeState {
  let profile: KernelProfile
  let topology: FakeTopology
  let layout: LabLayout
  let pmem: PmemMode
  let memlockKB: Int?
  let dmaEntryLimit: Int
  var hugetlbFree: Int
  let hugetlbTotal: Int
  let groupViable: Bool

  var mounts: [Mount] = []
  var nodes: [String: Node] = [:]
  var fds: [Int32: OpenObject] = [:]
  /// flock(2) locks: the directory's path and the descriptor that holds its lock.
  var locks: [String: Int32] = [:]
  var nextFD: Int32 = 3
  /// RLIMIT_NOFILE of the simulated process.
  var descriptorLimit = 1024
  var mappings: [UInt: FakeMapping] = [:]
  var nextAddress: UInt = 0x7f00_0000_0000
  var pinnedKB = 0
  var lockedKB = 0
  /// `MemAvailable`; nil models a /proc without it.
  var memoryAvailable: Int? = 8 << 30
  var pendingSignal: Int32?
  var nextNormalFrame: UInt64 = 0
  var nextMovableFrame: UInt64 = 0
  /// Processes alive besides this one (pid → start time), for the leftover sweep.
  var otherProcesses: [Int32: UInt64] = [:]
  /// RDMA device contexts open, and registered memory regions with the kB each charged to VmPin.
  var rdmaContexts: Set<UInt> = []
  var rdmaRegions: [UInt: Int] = [:]
  var nextRDMAHandle: UInt = 0x1000

  static let groupID = 1
  static let iovaWindows = [IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: (1 << 39) - 1)]
  static let me = ProcessIdentity(pid: 4242, effectiveUID: 0, startTime: 1_000)
  static let devdaxName = "dax0.0"

  init(
    profile: KernelProfile, topology: FakeTopology, layout: LabLayout, fsdaxMount: FakeDAXMount, memlockKB: Int?, dmaEntryLimit: Int,
    hugetlbPages: Int, groupViable: Bool, pmem: PmemMode = .memmap
  ) {
    self.pmem = pmem
    self.profile = profile
    self.topology = topology
    self.layout = layout
    self.memlockKB = memlockKB
    self.dmaEntryLimit = dmaEntryLimit
    self.hugetlbFree = hugetlbPages
    self.hugetlbTotal = hugetlbPages
    self.groupViable = groupViable
    mounts = [
      Mount(path: "/", magic: .ext4, dax: nil, blockBacked: true, device: DeviceNumber(major: 254, minor: 0)),
      Mount(path: "/dev", magic: .devtmpfs, dax: nil, blockBacked: false, device: DeviceNumber(major: 0, minor: 5)),
      Mount(path: "/dev/shm", magic: .tmpfs, dax: nil, blockBacked: false, device: DeviceNumber(major: 0, minor: 23)),
      Mount(path: "/proc", magic: .proc, dax: nil, blockBacked: false, device: DeviceNumber(major: 0, minor: 21)),
      Mount(path: layout.pagecache, magic: .ext4, dax: nil, blockBacked: true, device: DeviceNumber(major: 1, minor: 0)),
    ]
    for d in ["/", "/dev", "/dev/shm", "/proc", "/var", "/var/tmp", "/mnt", layout.pagecache, "/tmp"] {
      nodes[d] = Node(kind: .directory(daxFlag: false), permissions: d == "/tmp" || d == "/var/tmp" || d == "/dev/shm" ? 0o1777 : 0o755)
    }
    if topology.hasFsdax {
      for (i, fs) in ["ext4", "xfs"].enumerated() {
        let path = layout.fsdaxMount(fs)
        mounts.append(
          Mount(path: path, magic: fs == "xfs" ? .xfs : .ext4, dax: fsdaxMount, blockBacked: true, device: DeviceNumber(major: 259, minor: UInt32(i)),
            source: fsdaxMount == .inodeWithoutDAXDevice ? "/dev/loop\(i)" : "/dev/pmem\(i)"))
        nodes[path] = Node(kind: .directory(daxFlag: false))
      }
    }
    // NUMA node 0, and the kmem node where the devdax region was converted (as in the lab).
    for d in ["/sys", "/sys/devices", "/sys/devices/system", "/sys/devices/system/node", "/sys/devices/system/node/node0"] {
      nodes[d] = Node(kind: .directory(daxFlag: false))
    }
    if let kmemNode { nodes["/sys/devices/system/node/node\(kmemNode)"] = Node(kind: .directory(daxFlag: false)) }
    if topology.hasDevdax { nodes["/dev/\(Self.devdaxName)"] = Node(kind: .devdax(align: layout.align, size: 502 << 20), permissions: 0o600) }
    if topology.hasVFIO {
      nodes["/dev/vfio"] = Node(kind: .directory(daxFlag: false))
      nodes["/dev/vfio/vfio"] = Node(kind: .vfioContainer, permissions: 0o666)
      nodes["/dev/vfio/\(Self.groupID)"] = Node(kind: .vfioGroup(id: Self.groupID), permissions: 0o600)
      if profile.hasIOMMUFD {
        nodes["/dev/vfio/devices"] = Node(kind: .directory(daxFlag: false))
        nodes["/dev/vfio/devices/vfio0"] = Node(kind: .vfioDevice, permissions: 0o600)
      }
    }
    if profile.hasIOMMUFD { nodes["/dev/iommu"] = Node(kind: .iommu, permissions: 0o666) }
    nodes["/dev/null"] = Node(kind: .null, permissions: 0o666)
    nodes["/dev/zero"] = Node(kind: .zero, permissions: 0o666)
  }

  // MARK: files

  func mount(of path: String) -> Mount {
    mounts.filter { path == $0.path || path.hasPrefix($0.path == "/" ? "/" : $0.path + "/") }.max { $0.path.count < $1.path.count }!
  }

  func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
  }

  /// `path` relative to the directory open at `dir` (nil: absolute).
  func resolve(_ path: String, in dir: Int32?) -> Result<String, Errno> {
    guard let dir else { return .success(path) }
    guard case .directory(let base) = fds[dir] else { return .failure(fds[dir] == nil ? .badFileDescriptor : .notDirectory) }
    guard !path.contains("/") else { return .failure(.invalidArgument) }
    return .success(base == "/" ? "/" + path : base + "/" + path)
  }

  /// Is the file at `path` DAX, as statx's STATX_ATTR_DAX would say?
  func isDAX(_ path: String) -> Bool {
    guard case .file(_, let flag) = nodes[path]?.kind, let dax = mount(of: path).dax else { return false }
    switch dax {
    case .always: return true
    case .inode: return flag
    case .inodeWithoutDAXDevice: return false
    }
  }

  mutating func newFD(_ o: OpenObject) -> Result<FileDescriptor, Errno> {
    guard fds.count < descriptorLimit else { return .failure(.tooManyOpenFiles) }
    let fd = nextFD
    nextFD += 1
    fds[fd] = o
    return .success(FileDescriptor(rawValue: fd))
  }

  mutating func open(_ name: String, in dir: Int32?, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    let path: String
    switch resolve(name, in: dir) {
    case .success(let p): path = p
    case .failure(let e): return .failure(e)
    }
    if create {
      guard case .directory(let flag) = nodes[parent(path)]?.kind else { return .failure(.noSuchFileOrDirectory) }
      guard nodes[path] == nil else { return .failure(.fileExists) }
      nodes[path] = Node(kind: .file(size: 0, daxFlag: flag), permissions: 0o600)
      return newFD(.file(path: path))
    }
    guard let node = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    switch node.kind {
    case .directory: return writable ? .failure(.isDirectory) : newFD(.directory(path: path))
    case .file: return newFD(.file(path: path))
    case .devdax: return newFD(.devdax(path: path))
    case .vfioContainer: return newFD(.container(ContainerState()))
    case .iommu: return newFD(profile.hasIOMMUFD ? .iommufd(IOMMUFDState()) : .null)
    case .vfioGroup(let id):
      // A group is exclusive: a second open is EBUSY, as with QEMU holding it.
      if fds.values.contains(where: { if case .group(let g, _) = $0 { return g == id } else { return false } }) {
        return .failure(.resourceBusy)
      }
      return newFD(.group(id: id, container: nil))
    case .vfioDevice: return newFD(.device(bound: nil, attached: nil))
    case .null, .zero: return newFD(.null)
    }
  }

  mutating func openDirectory(_ name: String, in dir: Int32?) -> Result<FileDescriptor, Errno> {
    resolve(name, in: dir).flatMap { path in
      guard let node = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
      guard node.isDirectory else { return .failure(.notDirectory) }
      return newFD(.directory(path: path))
    }
  }

  mutating func close(_ fd: Int32) {
    guard let o = fds.removeValue(forKey: fd) else { preconditionFailure("close(\(fd)): EBADF in the fake: daxpin closed an fd it did not own") }
    locks = locks.filter { $0.value != fd }
    switch o {
    case .container(let c): for d in c.dma { lockedKB -= d.kb }
    case .groupDevice(let c): _ = withContainer(c) { $0.openDevices -= 1; return .success(()) }
    case .ring(let r): pinnedKB -= r.reduce(0) { $0 + $1.length / 1024 }
    case .iommufd(let st):
      for maps in st.ioas.values { for m in maps { pinnedKB -= m.kb } }
      for d in st.compat.dma { pinnedKB -= d.kb }
    default: break
    }
  }

  mutating func makeDirectory(_ name: String, in dir: Int32) -> Result<Void, Errno> {
    resolve(name, in: dir).flatMap { path in
      guard nodes[path] == nil else { return .failure(.fileExists) }
      nodes[path] = Node(kind: .directory(daxFlag: false), owner: Self.me.effectiveUID, permissions: 0o700)
      return .success(())
    }
  }

  mutating func unlink(_ name: String, in dir: Int32, directory: Bool) -> Result<Void, Errno> {
    resolve(name, in: dir).flatMap { path in
      guard let n = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
      if directory {
        guard n.isDirectory else { return .failure(.notDirectory) }
        guard !nodes.keys.contains(where: { $0.hasPrefix(path + "/") }) else { return .failure(.directoryNotEmpty) }
      } else if n.isDirectory {
        return .failure(.isDirectory)
      }
      nodes[path] = nil
      return .success(())
    }
  }

  func entries(_ dir: Int32) -> Result<[String], Errno> {
    guard case .directory(let base) = fds[dir] else { return .failure(fds[dir] == nil ? .badFileDescriptor : .notDirectory) }
    let prefix = base == "/" ? "/" : base + "/"
    return .success(nodes.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") && $0 != base }
      .map { String($0.dropFirst(prefix.count)) }.sorted())
  }

  /// flock(2) `LOCK_EX | LOCK_NB`: one holder per directory, until it closes the descriptor.
  mutating func lock(_ fd: Int32) -> Result<Void, Errno> {
    guard case .directory(let path) = fds[fd] else { return .failure(fds[fd] == nil ? .badFileDescriptor : .invalidArgument) }
    if let holder = locks[path], holder != fd { return .failure(.wouldBlock) }
    locks[path] = fd
    return .success(())
  }

  mutating func memfd(_ name: String) -> Result<FileDescriptor, Errno> { newFD(.memfd(size: 0)) }

  mutating func truncate(_ fd: Int32, _ length: Int) -> Result<Void, Errno> {
    switch fds[fd] {
    case .file(let path):
      guard case .file(_, let flag) = nodes[path]?.kind else { return .failure(.invalidArgument) }
      nodes[path]!.kind = .file(size: length, daxFlag: flag)
    case .memfd: fds[fd] = .memfd(size: length)
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.invalidArgument)
    }
    return .success(())
  }

  mutating func allocate(_ fd: Int32, _ length: Int) -> Result<Void, Errno> {
    switch fds[fd] {
    case .file(let path):
      guard case .file(let size, let flag) = nodes[path]?.kind else { return .failure(.invalidArgument) }
      if mount(of: path).magic == .tmpfs { return .success(()) }
      nodes[path]!.kind = .file(size: max(size, length), daxFlag: flag)
      return .success(())
    case .memfd: return .success(())
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.operationNotSupportedByDevice)
    }
  }

  func status(_ path: String) -> Result<FileStatus, Errno> {
    guard let n = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    let type: FileStatus.FileType
    switch n.kind {
    case .directory: type = .directory
    case .file: type = .regular
    case .null, .zero, .devdax, .vfioContainer, .vfioGroup, .vfioDevice, .iommu: type = .characterDevice
    }
    return .success(
      FileStatus(type: type, dax: isDAX(path), owner: n.owner, permissions: n.permissions, device: mount(of: path).device))
  }

  func status(of fd: Int32) -> Result<FileStatus, Errno> {
    switch fds[fd] {
    case .file(let path), .directory(let path), .devdax(let path): return status(path)
    case nil: return .failure(.badFileDescriptor)
    default: return .success(FileStatus(type: .characterDevice, dax: false))
    }
  }

  func filesystem(_ path: String) -> Result<FilesystemInfo, Errno> {
    guard nodes[path] != nil else { return .failure(.noSuchFileOrDirectory) }
    let m = mount(of: path)
    return .success(FilesystemInfo(magic: m.magic, blockBacked: m.blockBacked))
  }

  /// FS_IOC_FSSETXATTR(FS_XFLAG_DAX): ext4 and xfs keep the flag; tmpfs has no such ioctl.
  mutating func setDAXFlag(_ fd: Int32) -> Result<Void, Errno> {
    guard case .directory(let path) = fds[fd] else { return .failure(fds[fd] == nil ? .badFileDescriptor : .inappropriateIOCTLForDevice) }
    let m = mount(of: path)
    guard m.magic == .ext4 || m.magic == .xfs else { return .failure(.inappropriateIOCTLForDevice) }
    nodes[path]!.kind = .directory(daxFlag: true)
    return .success(())
  }

  func characterDevice(_ path: String) -> Result<CharacterDevice, Errno> {
    guard let n = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    switch n.kind {
    case .devdax(let align, let size):
      return .success(CharacterDevice(number: DeviceNumber(major: 252, minor: 0), subsystem: "dax", align: align, size: size))
    case .null: return .success(CharacterDevice(number: DeviceNumber(major: 1, minor: 3), subsystem: "mem"))
    case .zero: return .success(CharacterDevice(number: DeviceNumber(major: 1, minor: 5), subsystem: "mem"))
    case .vfioContainer, .iommu: return .success(CharacterDevice(number: DeviceNumber(major: 10, minor: 196), subsystem: "misc"))
    case .vfioGroup(let id): return .success(CharacterDevice(number: DeviceNumber(major: 243, minor: UInt32(id)), subsystem: "vfio"))
    case .vfioDevice: return .success(CharacterDevice(number: DeviceNumber(major: 237, minor: 0), subsystem: "vfio-dev"))
    case .directory, .file: return .failure(.operationNotSupportedByDevice)
    }
  }

  // MARK: memory

  mutating func mmap(_ length: Int, _ prot: Protection, _ source: MappingSource) -> Result<Mapping, Errno> {
    guard length > 0 else { return .failure(.invalidArgument) }
    var m = FakeMapping(mapping: Mapping(address: 0, length: length), backing: .anon, shared: false, writable: prot == .readWrite, path: "")
    switch source {
    case .anonymous(let hugetlb):
      if hugetlb {
        let pages = (length + (2 << 20) - 1) / (2 << 20)
        guard hugetlbFree >= pages else { return .failure(.noMemory) }
        hugetlbFree -= pages
        m.backing = .hugetlb
      }
    case .file(let fd, let shared, _):
      m.shared = shared
      switch fds[fd.rawValue] {
      case .memfd(let size):
        m.backing = .shmem
        m.path = "/memfd:daxpin (deleted)"
        m.fileSize = size
      case .file(let path):
        guard case .file(let size, _) = nodes[path]?.kind else { return .failure(.operationNotSupportedByDevice) }
        m.backing = backing(ofFile: path)
        m.path = path
        m.fileSize = size
      case .devdax(let path):
        guard case .devdax(let align, _) = nodes[path]?.kind else { return .failure(.operationNotSupportedByDevice) }
        // drivers/dax/device.c check_vma: private or unaligned mappings are refused.
        guard shared, length % align == 0 else { return .failure(.invalidArgument) }
        m.backing = .devdax
        m.path = path
      case nil: return .failure(.badFileDescriptor)
      default: return .failure(.operationNotSupportedByDevice)
      }
    }
    let align: UInt = m.backing == .devdax || m.backing == .hugetlb ? 2 << 20 : 4096
    nextAddress = (nextAddress + align - 1) / align * align
    m.mapping.address = nextAddress
    nextAddress += UInt(length) + 0x10_0000
    mappings[m.mapping.address] = m
    return .success(m.mapping)
  }

  mutating func munmap(_ m: Mapping) -> Result<Void, Errno> {
    guard let old = mappings.removeValue(forKey: m.address) else { return .success(()) }
    if old.backing == .hugetlb { hugetlbFree += (old.mapping.length + (2 << 20) - 1) / (2 << 20) }
    return .success(())
  }

  mutating func mprotect(_ m: Mapping, _ p: Protection) -> Result<Void, Errno> {
    guard mappings[m.address] != nil else { return .failure(.noMemory) }
    mappings[m.address]!.writable = p == .readWrite
    return .success(())
  }

  mutating func fault(_ m: Mapping, write: Bool) -> Result<Void, Errno> {
    // The VMA holding the range: a bench buffer is a 2 MiB-aligned part of a larger mapping.
    guard var fm = container(of: m) else { return .failure(.badAddress) }
    // Touching a file mapping past EOF is SIGBUS on a real kernel.
    if let size = fm.fileSize, size < m.length { return .failure(.badAddress) }
    if write && !fm.writable { return .failure(.badAddress) }
    let copies = write && !fm.shared && fm.backing != .anon && fm.backing != .hugetlb
    if !fm.faulted || (copies && !fm.copiedOnWrite) {
      // Anonymous copies of a private file mapping are movable user pages like any other.
      var source = fm
      if copies { source.backing = .anon }
      fm.frames = frames(for: source)
    }
    fm.faulted = true
    if copies { fm.copiedOnWrite = true }
    mappings[fm.mapping.address] = fm
    return .success(())
  }

  func vma(_ m: Mapping) -> Result<VMAInfo, Errno> {
    guard let fm = container(of: m) else { return .failure(.noSuchFileOrDirectory) }
    var flags = ["rd"] + (fm.writable ? ["wr"] : []) + (fm.shared ? ["sh"] : []) + ["mr", "mw", "me"]
    if fm.backing == .hugetlb { flags.append("ht") }
    if fm.backing == .fsdax || fm.backing == .devdax || fm.advice == .hugePage { flags.append("hg") }
    if fm.advice == .noHugePage { flags.append("nh") }
    // khugepaged aside, a faulted anonymous range advised MADV_HUGEPAGE is backed by huge pages
    // in every whole, aligned 2 MiB extent it covers.
    var thpKB = 0
    if fm.backing == .anon, fm.advice == .hugePage, fm.faulted {
      let huge: UInt = 2 << 20
      let first = (m.address + huge - 1) / huge * huge
      let end = (m.address + UInt(m.length)) / huge * huge
      thpKB = end > first ? Int(end - first) / 1024 : 0
    }
    return .success(VMAInfo(path: fm.path, flags: flags, anonHugePagesKB: thpKB))
  }

  mutating func madvise(_ m: Mapping, _ advice: MemoryAdvice) -> Result<Void, Errno> {
    guard let fm = container(of: m) else { return .failure(.noMemory) }
    // hugetlb ranges and device-DAX take no THP advice (the kernel's madvise_behavior_valid on a
    // VM_HUGETLB / VM_PFNMAP-like VMA).
    guard fm.backing != .hugetlb && fm.backing != .devdax else { return .failure(.invalidArgument) }
    // One advice per fake mapping: the kernel would split the VMA at the range's ends.
    mappings[fm.mapping.address]!.advice = advice
    return .success(())
  }

  /// Where a file's pages come from: DAX, shmem (tmpfs) or the page cache.
  func backing(ofFile path: String) -> Backing {
    isDAX(path) ? .fsdax : mount(of: path).magic == .tmpfs ? .shmem : .pagecache
  }

  /// The mapping `m` is, or lies inside.
  func container(of m: Mapping) -> FakeMapping? {
    mappings[m.address] ?? covering(UInt64(m.address), UInt64(m.length))
  }

  /// The mapping that holds `[address, address + length)`, if one does.
  func covering(_ address: UInt64, _ length: UInt64) -> FakeMapping? {
    mappings.values.first { UInt64($0.mapping.address) <= address && address + length <= UInt64($0.mapping.address) + UInt64($0.mapping.length) }
  }

  /// RLIMIT_MEMLOCK accounting, skipped with CAP_IPC_LOCK (memlockKB nil).
  func overMemlock(_ kb: Int) -> Bool {
    guard let limit = memlockKB else { return false }
    return pinnedKB + lockedKB + kb > limit
  }
}
