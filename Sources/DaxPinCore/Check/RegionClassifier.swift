import SystemPackage

/// What a region is on this host, in daxpin's memory kinds.
public struct RegionClassification: Sendable, Equatable {
  /// nil when nothing daxpin knows describes the backing (a FIFO, procfs, another device).
  public var kind: MemoryKind?
  /// The path examined on this host: the file, or the directory where the VMM will create it.
  public var examined: String?
  /// The checks that decided, as the probe words them (`statfs ext4 on a block device, statx
  /// without DAX`).
  public var evidence: String
  /// What the configuration names that this host lacks.
  public var missing: String?
  public var notes: [String]
  /// device-DAX: the device's align (nil when the device is not here).
  public var devdaxAlign: UInt64?

  public init(
    kind: MemoryKind?, examined: String? = nil, evidence: String, missing: String? = nil, notes: [String] = [], devdaxAlign: UInt64? = nil
  ) {
    self.kind = kind
    self.examined = examined
    self.evidence = evidence
    self.missing = missing
    self.notes = notes
    self.devdaxAlign = devdaxAlign
  }
}

/// Classifies regions with the probe's own checks, through the `Kernel` seam: `status` (statx:
/// type, `STATX_ATTR_DAX`, device), `filesystem` (statfs magic, block-backed), `characterDevice`
/// (sysfs subsystem `dax` and its align), and the inventory's DAX mounts for a file not yet
/// created. Looks, never opens or creates.
public struct RegionClassifier {
  public let kernel: any Kernel
  public let inventory: Inventory
  /// Who creates a file in a directory: `QEMU`, `cloud-hypervisor`.
  public let creator: String

  public init(kernel: any Kernel, inventory: Inventory, dialect: VMMDialect) {
    self.kernel = kernel
    self.inventory = inventory
    creator = dialect == .cloudHypervisor ? "cloud-hypervisor" : "QEMU"
  }

  public func classify(_ r: MemoryRegion) -> RegionClassification {
    switch r.backing {
    case .anonymous:
      return r.shared
        ? RegionClassification(
          kind: .memfd, evidence: "configuration: MAP_SHARED|MAP_ANONYMOUS",
          notes: ["shared anonymous memory is shmem: judged as memfd"])
        : RegionClassification(kind: .anon, evidence: "configuration: MAP_PRIVATE|MAP_ANONYMOUS")
    case .memfd(let hugetlb):
      var c = RegionClassification(kind: hugetlb ? .hugetlb2m : .memfd, evidence: "configuration: memfd_create\(hugetlb ? " MFD_HUGETLB" : "")")
      if hugetlb { c.notes.append("a hugetlb memfd: judged as hugetlb-2m") }
      if !r.shared { c.notes.append("mapped MAP_PRIVATE: the guest's writes go to anonymous copies of the memfd's pages") }
      return c
    case .posixSharedMemory:
      var c = onFilesystem(ProbeRequest.defaultTmpfsDirectory, file: nil, region: r)
      c.notes.insert("memory-backend-shm: shm_open creates its file in \(ProbeRequest.defaultTmpfsDirectory)", at: 0)
      return c
    case .hugetlbfs(let directory):
      let c = existingAncestor(directory, region: r)
      guard c.kind != .hugetlb2m else { return c }
      return RegionClassification(
        kind: .hugetlb2m, examined: c.examined, evidence: c.evidence, missing: c.missing,
        notes: ["no hugetlbfs at \(c.examined ?? directory) on this host: libvirt will not start the domain until one is mounted; judged as hugetlb-2m"])
    case .file(let path):
      return file(path, region: r)
    }
  }

  /// A path the configuration names: a file, a directory, a device, or something not yet there.
  func file(_ path: String, region r: MemoryRegion) -> RegionClassification {
    switch kernel.status(path) {
    case .success(let st):
      switch st.type {
      case .regular:
        return onFilesystem(path, file: st, region: r)
      case .directory:
        var c = onFilesystem(path, file: nil, region: r)
        c.notes.insert("a directory: \(creator) creates its own file in it", at: 0)
        return c
      case .characterDevice:
        return device(path, region: r)
      case .symbolicLink:
        // The VMM's open(2) follows it; characterDevice and statfs look through it too.
        if case .success = kernel.characterDevice(path) { return device(path, region: r) }
        var c = onFilesystem(path, file: nil, region: r)
        c.notes.insert("a symbolic link: classified by the filesystem it leads to", at: 0)
        return c
      case .blockDevice:
        return RegionClassification(
          kind: r.shared ? .pagecacheShared : .pagecachePrivate, examined: path, evidence: "statx: a block device",
          notes: ["a block device's mapping is its page cache: judged as page cache"])
      case .fifo, .socket:
        return RegionClassification(kind: nil, examined: path, evidence: "statx: \(TargetResolver.describe(st.type)), not memory \(creator) can map")
      }
    case .failure(let e) where e == .noSuchFileOrDirectory:
      if Self.isDeviceDAXName(path) {
        return RegionClassification(
          kind: .devdax, examined: path, evidence: "configuration: a /dev/daxX.Y name", missing: "\(path) is not on this host",
          notes: ["judged as device-DAX by its name; its align is read from sysfs where the device exists"])
      }
      var c = existingAncestor(parent(path), region: r)
      if c.missing == nil, let dir = c.examined { c.missing = "\(path) does not exist yet: \(creator) creates it in \(dir)" }
      return c
    case .failure(let e):
      return RegionClassification(kind: nil, examined: path, evidence: "statx \(path): \(e.name)")
    }
  }

  /// The nearest directory at or above `directory` that exists, classified as where a new file
  /// would go.
  func existingAncestor(_ directory: String, region r: MemoryRegion) -> RegionClassification {
    var dir = directory
    var missing: [String] = []
    while true {
      switch kernel.status(dir) {
      case .success(let st) where st.type == .directory || (st.type == .symbolicLink && kernel.filesystem(dir).isSuccess):
        var c = onFilesystem(dir, file: nil, region: r)
        if let top = missing.last { c.missing = "\(top) is not on this host: classified by \(dir), the nearest directory that is" }
        return c
      case .success(let st):
        return RegionClassification(kind: nil, examined: dir, evidence: "statx: \(TargetResolver.describe(st.type)), not a directory")
      case .failure(let e) where e == .noSuchFileOrDirectory && dir != "/":
        missing.append(dir)
        dir = parent(dir)
      case .failure(let e):
        return RegionClassification(kind: nil, examined: dir, evidence: "statx \(dir): \(e.name)")
      }
    }
  }

  /// A file (existing: `file` is its statx) or a new file in the directory `path`.
  func onFilesystem(_ path: String, file: FileStatus?, region r: MemoryRegion) -> RegionClassification {
    let fs: FilesystemInfo
    switch kernel.filesystem(path) {
    case .success(let f): fs = f
    case .failure(let e): return RegionClassification(kind: nil, examined: path, evidence: "statfs \(path): \(e.name)")
    }
    var c = RegionClassification(kind: nil, examined: path, evidence: "statfs \(fs.magic)")
    switch fs.magic {
    case .hugetlbfs:
      c.kind = .hugetlb2m
      c.evidence = "statfs HUGETLBFS_MAGIC"
      return c
    case .tmpfs:
      c.kind = .tmpfsShared
      c.evidence = "statfs TMPFS_MAGIC"
      if !r.shared { c.notes.append("mapped MAP_PRIVATE: shmem pages all the same; judged as tmpfs-shared") }
      return c
    default:
      break
    }
    guard fs.isDiskBacked else {
      c.evidence = "statfs \(fs.magic)\(fs.blockBacked ? " on a block device" : "")"
      c.notes.append("\(fs.magic) is neither a disk-backed filesystem, tmpfs nor hugetlbfs: daxpin has no memory kind for it")
      return c
    }
    let on = "statfs \(fs.magic)\(fs.blockBacked ? " on a block device" : "")"
    var dax = file?.dax
    var how = "statx \(dax == true ? "STATX_ATTR_DAX" : "without DAX")"
    if file == nil || dax == nil {
      // A file not yet created, or a kernel without STATX_ATTR_DAX: the DAX mount decides.
      let mount = daxMount(of: path, device: file?.device)
      dax = mount != nil
      how = mount.map { "mounted \($0.daxOption) (\($0.mountPoint))" } ?? "not on a DAX mount"
      if let m = mount, m.daxOption == "dax=inode" {
        c.notes.append("\(m.mountPoint) is mounted dax=inode: a file is DAX only where FS_XFLAG_DAX is set on it or inherited from its directory; judged as DAX")
      }
    }
    c.evidence = "\(on), \(how)"
    guard dax == true else {
      c.kind = r.shared ? .pagecacheShared : .pagecachePrivate
      return c
    }
    let shared: MemoryKind, priv: MemoryKind, cow: MemoryKind
    switch fs.magic {
    case .ext4: (shared, priv, cow) = (.fsdaxExt4Shared, .fsdaxExt4Private, .fsdaxExt4PrivateCow)
    case .xfs: (shared, priv, cow) = (.fsdaxXfsShared, .fsdaxXfsPrivate, .fsdaxXfsPrivateCow)
    default:
      c.notes.append("DAX on \(fs.magic): daxpin's fsdax kinds are ext4 and xfs")
      return c
    }
    if r.shared {
      c.kind = shared
    } else if r.prealloc {
      c.kind = cow
      c.notes.append("prealloc writes every page first: the pins see anonymous copies in a DAX mapping")
    } else {
      c.kind = priv
      c.notes.append("MAP_PRIVATE without prealloc: pages the guest has not written are the file's own pmem pages")
    }
    return c
  }

  /// A character device: device-DAX (with its align), `/dev/zero`, or something else.
  func device(_ path: String, region r: MemoryRegion) -> RegionClassification {
    switch kernel.characterDevice(path) {
    case .success(let dev) where dev.isDeviceDAX:
      let align = dev.align.map(UInt64.init) ?? inventoryAlign(path)
      return RegionClassification(
        kind: .devdax, examined: path, evidence: "S_ISCHR, sysfs subsystem dax\(align.map { ", align \(ByteSize.describe($0))" } ?? "")",
        devdaxAlign: align)
    case .success(let dev) where dev.subsystem == "mem" && dev.number.major == 1 && dev.number.minor == 5:
      return RegionClassification(
        kind: r.shared ? .memfd : .anon, examined: path, evidence: "S_ISCHR 1:5 (/dev/zero)",
        notes: [r.shared ? "a shared mapping of /dev/zero is shmem: judged as memfd" : "a private mapping of /dev/zero is anonymous memory"])
    case .success(let dev):
      return RegionClassification(
        kind: nil, examined: path,
        evidence: "S_ISCHR \(dev.number)\(dev.subsystem.map { " of the \($0) subsystem" } ?? ""), not device-DAX")
    case .failure(let e):
      return RegionClassification(kind: nil, examined: path, evidence: "\(path): \(e.name)")
    }
  }

  /// The DAX mount (from the inventory) holding `path`: the one whose mount point is on the same
  /// device (statx `stx_dev`), so a non-DAX filesystem mounted below a DAX one is told apart.
  func daxMount(of path: String, device: DeviceNumber?) -> DaxMount? {
    guard let dev = device ?? (try? kernel.status(path).get())?.device else { return nil }
    return inventory.daxMounts.first { m in
      (path == m.mountPoint || path.hasPrefix(m.mountPoint == "/" ? "/" : m.mountPoint + "/"))
        && (try? kernel.status(m.mountPoint).get())?.device == dev
    }
  }

  func inventoryAlign(_ path: String) -> UInt64? {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    return inventory.pmem.daxDevices.first { $0.chardev == name }?.align ?? inventory.pmem.namespaces.first { $0.chardev == name }?.align
  }

  func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  /// `/dev/dax0.0`, `/dev/dax12.3`.
  static func isDeviceDAXName(_ path: String) -> Bool {
    guard path.hasPrefix("/dev/dax") else { return false }
    let rest = path.dropFirst("/dev/dax".count).split(separator: ".", omittingEmptySubsequences: false)
    return rest.count == 2 && rest.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
  }
}

extension Result {
  var isSuccess: Bool {
    if case .success = self { return true }
    return false
  }
}
