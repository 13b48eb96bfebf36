import DaxPinCore
import SystemPackage

/// Where a mapping's pages come from, as the kernel's GUP sees the VMA.
enum Backing: Equatable {
  case anon, hugetlb, shmem, pagecache, fsdax, devdax
}

/// A mounted filesystem of the simulated host.
struct Mount {
  var path: String
  var magic: FilesystemMagic
  var dax: Bool
}

/// A file, directory or device node.
struct Node {
  enum Kind: Equatable {
    case directory
    case file(size: Int)
    case devdax(align: Int, size: Int)
    case vfioContainer, vfioGroup(id: Int), vfioDevice, iommu, null
  }
  var kind: Kind
}

/// What an open file descriptor refers to.
enum OpenObject {
  case file(path: String)
  case memfd(size: Int)
  case devdax(path: String)
  case container(ContainerState)
  case group(id: Int, container: Int32?)
  case device(bound: Int32?, attached: UInt32?)
  /// A device opened from its group with VFIO_GROUP_GET_DEVICE_FD, through this container fd.
  case groupDevice(container: Int32)
  case iommufd(IOMMUFDState)
  case ring(registered: [Mapping])
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
}

struct FakeState {
  let profile: KernelProfile
  let topology: FakeTopology
  let memlockKB: Int?
  let dmaEntryLimit: Int
  var hugetlbFree: Int
  let groupViable: Bool

  var mounts: [Mount] = []
  var nodes: [String: Node] = [:]
  var initialNodes = 0
  var fds: [Int32: OpenObject] = [:]
  var nextFD: Int32 = 3
  var mappings: [UInt: FakeMapping] = [:]
  var nextAddress: UInt = 0x7f00_0000_0000
  var tempCounter = 0
  var pinnedKB = 0
  var lockedKB = 0
  var trace: [String] = []
  var uses: [String: Int] = [:]
  var injections: [Injection] = []
  var interruptAt: Int?

  static let groupID = 1
  static let iovaWindows = [IOVARange(start: 0, last: 0xfedf_ffff), IOVARange(start: 0xfef0_0000, last: (1 << 39) - 1)]

  init(profile: KernelProfile, topology: FakeTopology, memlockKB: Int?, dmaEntryLimit: Int, hugetlbPages: Int, groupViable: Bool) {
    self.profile = profile
    self.topology = topology
    self.memlockKB = memlockKB
    self.dmaEntryLimit = dmaEntryLimit
    self.hugetlbFree = hugetlbPages
    self.groupViable = groupViable
    mounts = [
      Mount(path: "/", magic: .ext4, dax: false), Mount(path: "/dev/shm", magic: .tmpfs, dax: false),
      Mount(path: "/mnt/pagecache", magic: .ext4, dax: false),
    ]
    for d in ["/", "/dev", "/dev/shm", "/var", "/var/tmp", "/mnt", "/mnt/pagecache", "/tmp"] { nodes[d] = Node(kind: .directory) }
    if topology.hasFsdax {
      mounts += [Mount(path: "/mnt/fsdax-ext4", magic: .ext4, dax: true), Mount(path: "/mnt/fsdax-xfs", magic: .xfs, dax: true)]
      nodes["/mnt/fsdax-ext4"] = Node(kind: .directory)
      nodes["/mnt/fsdax-xfs"] = Node(kind: .directory)
    }
    if topology.hasDevdax { nodes["/dev/dax0.0"] = Node(kind: .devdax(align: 2 << 20, size: 502 << 20)) }
    if topology.hasVFIO {
      nodes["/dev/vfio"] = Node(kind: .directory)
      nodes["/dev/vfio/vfio"] = Node(kind: .vfioContainer)
      nodes["/dev/vfio/\(Self.groupID)"] = Node(kind: .vfioGroup(id: Self.groupID))
      if profile.hasIOMMUFD { nodes["/dev/vfio/devices/vfio0"] = Node(kind: .vfioDevice) }
    }
    if profile.hasIOMMUFD { nodes["/dev/iommu"] = Node(kind: .iommu) }
    nodes["/dev/null"] = Node(kind: .null)
    initialNodes = nodes.count
  }

  // MARK: files

  func mount(of path: String) -> Mount {
    mounts.filter { path == $0.path || path.hasPrefix($0.path == "/" ? "/" : $0.path + "/") }.max { $0.path.count < $1.path.count }!
  }

  func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
  }

  mutating func newFD(_ o: OpenObject) -> Result<FileDescriptor, Errno> {
    guard fds.count < 1024 else { return .failure(.tooManyOpenFiles) }
    let fd = nextFD
    nextFD += 1
    fds[fd] = o
    return .success(FileDescriptor(rawValue: fd))
  }

  mutating func open(_ path: String, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    if create {
      guard nodes[parent(path)]?.kind == .directory else { return .failure(.noSuchFileOrDirectory) }
      guard nodes[path] == nil else { return .failure(.fileExists) }
      nodes[path] = Node(kind: .file(size: 0))
      return newFD(.file(path: path))
    }
    guard let node = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    switch node.kind {
    case .directory: return writable ? .failure(.isDirectory) : newFD(.file(path: path))
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
    case .null: return newFD(.null)
    }
  }

  mutating func close(_ fd: Int32) {
    guard let o = fds.removeValue(forKey: fd) else { preconditionFailure("close(\(fd)): EBADF in the fake: daxpin closed an fd it did not own") }
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

  mutating func memfd(_ name: String) -> Result<FileDescriptor, Errno> { newFD(.memfd(size: 0)) }

  mutating func truncate(_ fd: Int32, _ length: Int) -> Result<Void, Errno> {
    switch fds[fd] {
    case .file(let path):
      guard case .file = nodes[path]?.kind else { return .failure(.invalidArgument) }
      nodes[path] = Node(kind: .file(size: length))
    case .memfd: fds[fd] = .memfd(size: length)
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.invalidArgument)
    }
    return .success(())
  }

  mutating func allocate(_ fd: Int32, _ length: Int) -> Result<Void, Errno> {
    switch fds[fd] {
    case .file(let path):
      guard case .file(let size) = nodes[path]?.kind else { return .failure(.invalidArgument) }
      if mount(of: path).magic == .tmpfs { return .success(()) }
      nodes[path] = Node(kind: .file(size: max(size, length)))
      return .success(())
    case .memfd: return .success(())
    case nil: return .failure(.badFileDescriptor)
    default: return .failure(.operationNotSupportedByDevice)
    }
  }

  mutating func mkdtemp(_ parent: String) -> Result<String, Errno> {
    guard nodes[parent]?.kind == .directory else { return .failure(.noSuchFileOrDirectory) }
    tempCounter += 1
    let path = "\(parent)/.daxpin-fake\(tempCounter)"
    nodes[path] = Node(kind: .directory)
    return .success(path)
  }

  mutating func unlink(_ path: String) -> Result<Void, Errno> {
    guard let n = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    guard n.kind != .directory else { return .failure(.isDirectory) }
    nodes[path] = nil
    return .success(())
  }

  mutating func rmdir(_ path: String) -> Result<Void, Errno> {
    guard nodes[path]?.kind == .directory else { return .failure(.noSuchFileOrDirectory) }
    guard !nodes.keys.contains(where: { $0.hasPrefix(path + "/") }) else { return .failure(.directoryNotEmpty) }
    nodes[path] = nil
    return .success(())
  }

  func status(_ path: String) -> Result<FileStatus, Errno> {
    guard let n = nodes[path] else { return .failure(.noSuchFileOrDirectory) }
    switch n.kind {
    case .directory: return .success(FileStatus(type: .directory, dax: false))
    case .file: return .success(FileStatus(type: .regular, dax: mount(of: path).dax))
    case .null, .devdax, .vfioContainer, .vfioGroup, .vfioDevice, .iommu: return .success(FileStatus(type: .characterDevice, dax: false))
    }
  }

  func filesystem(_ path: String) -> Result<FilesystemMagic, Errno> {
    guard nodes[path] != nil else { return .failure(.noSuchFileOrDirectory) }
    return .success(mount(of: path).magic)
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
        guard case .file(let size) = nodes[path]?.kind else { return .failure(.operationNotSupportedByDevice) }
        let mnt = mount(of: path)
        m.backing = mnt.dax ? .fsdax : mnt.magic == .tmpfs ? .shmem : .pagecache
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
    guard var fm = mappings[m.address] else { return .failure(.badAddress) }
    // Touching a file mapping past EOF is SIGBUS on a real kernel.
    if let size = fm.fileSize, size < m.length { return .failure(.badAddress) }
    if write && !fm.writable { return .failure(.badAddress) }
    fm.faulted = true
    if write && !fm.shared && fm.backing != .anon && fm.backing != .hugetlb { fm.copiedOnWrite = true }
    mappings[m.address] = fm
    return .success(())
  }

  func vma(_ m: Mapping) -> Result<VMAInfo, Errno> {
    guard let fm = mappings[m.address] else { return .failure(.noSuchFileOrDirectory) }
    var flags = ["rd"] + (fm.writable ? ["wr"] : []) + (fm.shared ? ["sh"] : []) + ["mr", "mw", "me"]
    if fm.backing == .hugetlb { flags.append("ht") }
    if fm.backing == .fsdax || fm.backing == .devdax { flags.append("hg") }
    return .success(VMAInfo(path: fm.path, flags: flags))
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
