/// Turns the user's request and the host's inventory into `ProbeTargets`, checking every object
/// the user named through the seam before anything is created: a page-cache directory must be a
/// directory (not a symlink) on a disk-backed filesystem, an fsdax directory one on ext4 or xfs
/// (one per filesystem), a devdax path a device-DAX character device.
public struct TargetResolver {
  let kernel: any Kernel
  let inventory: Inventory
  let request: ProbeRequest

  public init(kernel: any Kernel, inventory: Inventory, request: ProbeRequest) {
    self.kernel = kernel
    self.inventory = inventory
    self.request = request
  }

  public func resolve() throws(ProbeProblem) -> ProbeTargets {
    var t = ProbeTargets()
    if let dir = request.tmpfsDirectory {
      try directory(dir, option: "tmpfs directory")
      let fs = try filesystem(dir, option: "tmpfs directory")
      guard fs.magic == .tmpfs else { throw .target("tmpfs directory \(RawPath.display(dir)) is on \(fs.magic), not tmpfs") }
      t.tmpfsDirectory = dir
    } else {
      t.tmpfsDirectory = ProbeRequest.defaultTmpfsDirectory
    }
    if let dir = request.pagecacheDirectory {
      try directory(dir, option: "--pagecache-dir")
      let fs = try filesystem(dir, option: "--pagecache-dir")
      guard fs.isDiskBacked else {
        throw .target(
          "--pagecache-dir \(RawPath.display(dir)) is on \(fs.magic), not a disk-backed filesystem: name a directory on ext4, xfs or btrfs on a block device")
      }
      t.pagecacheDirectory = dir
    } else {
      t.pagecacheDirectory = ProbeRequest.defaultPagecacheDirectory
    }
    t.fsdaxDirectories = try fsdaxDirectories()
    t.devdax = try devdax()
    t.hugetlbFree2M = inventory.hugetlb.first { $0.pageSizeKB == 2048 }?.free ?? 0
    t.vfioContainer = inventory.vfio.container
    t.iommufd = inventory.iommufd.present
    t.vfioGroup = vfioGroup()
    t.kmemNode = try kmemNode()
    return t
  }

  /// `--kmem-node N`: the node must exist (`/sys/devices/system/node/nodeN`); whether its
  /// memory is in ZONE_MOVABLE is confirmed by the pages the probe gets from it.
  private func kmemNode() throws(ProbeProblem) -> Int? {
    guard let n = request.kmemNode else { return nil }
    guard n >= 0 else { throw .target("--kmem-node \(n): a NUMA node number is 0 or more") }
    switch kernel.status("/sys/devices/system/node/node\(n)") {
    case .success(let st) where st.type == .directory: return n
    case .success, .failure(.noSuchFileOrDirectory):
      throw .target("--kmem-node \(n): this host has no NUMA node \(n) (see /sys/devices/system/node; `daxctl list` shows a System RAM device's target_node)")
    case .failure(let e): throw .target("--kmem-node \(n): /sys/devices/system/node/node\(n): \(e.name)")
    }
  }

  /// A directory the user named: present, a directory, and not a symbolic link.
  /// Its status, for the callers that need the filesystem it is on.
  @discardableResult
  private func directory(_ dir: String, option: String) throws(ProbeProblem) -> FileStatus {
    switch kernel.status(dir) {
    case .success(let st) where st.type == .directory: return st
    case .success(let st) where st.type == .symbolicLink:
      throw .target("\(option) \(RawPath.display(dir)) is a symbolic link: name the directory it points to")
    case .success(let st): throw .target("\(option) \(RawPath.display(dir)) is \(Self.describe(st.type)), not a directory")
    case .failure(let e): throw .target("\(option) \(RawPath.display(dir)): \(e.name)")
    }
  }

  private func filesystem(_ dir: String, option: String) throws(ProbeProblem) -> FilesystemInfo {
    switch kernel.filesystem(dir) {
    case .success(let fs): return fs
    case .failure(let e): throw .target("\(option) \(RawPath.display(dir)): statfs: \(e.name)")
    }
  }

  /// `--fsdax-dir` (checked, one per filesystem), else the DAX mounts the inventory found.
  private func fsdaxDirectories() throws(ProbeProblem) -> [String: String] {
    guard !request.fsdaxDirectories.isEmpty else {
      // statx reports DAX on regular files only, so the mount root says nothing; the probe
      // confirms STATX_ATTR_DAX on the file it creates.
      var found: [String: String] = [:]
      for m in inventory.daxMounts where found[m.fstype] == nil && (m.fstype == "ext4" || m.fstype == "xfs") {
        found[m.fstype] = m.mountPoint
      }
      return found
    }
    var byType: [String: (dir: String, device: DeviceNumber)] = [:]
    var seen: [DeviceNumber: String] = [:]
    for dir in request.fsdaxDirectories {
      let st = try directory(dir, option: "--fsdax-dir")
      let fs = try filesystem(dir, option: "--fsdax-dir")
      guard fs.magic == .ext4 || fs.magic == .xfs else { throw .target("--fsdax-dir \(RawPath.display(dir)) is on \(fs.magic), not ext4 or xfs") }
      if let other = seen[st.device] {
        if other == dir { continue }
        throw .usage("--fsdax-dir \(RawPath.display(other)) and \(RawPath.display(dir)) are on the same filesystem (device \(st.device)): name one directory per filesystem")
      }
      seen[st.device] = dir
      let type = fs.magic.description
      if let other = byType[type] {
        throw .usage("--fsdax-dir \(RawPath.display(other.dir)) and \(RawPath.display(dir)) are both \(type): name at most one ext4 and one xfs directory")
      }
      byType[type] = (dir, st.device)
    }
    return byType.mapValues(\.dir)
  }

  /// `--devdax` checked to be device-DAX (its sysfs subsystem) before it is ever opened; else the
  /// first device-DAX device the inventory found, checked the same way.
  private func devdax() throws(ProbeProblem) -> DevdaxTarget? {
    if let path = request.devdax {
      if case .success(let st) = kernel.status(path), st.type == .symbolicLink {
        throw .target("--devdax \(RawPath.display(path)) is a symbolic link: name the device node itself (/dev/daxX.Y)")
      }
      switch kernel.characterDevice(path) {
      case .success(let dev) where dev.isDeviceDAX:
        return DevdaxTarget(path: path, align: dev.align ?? inventoryAlign(path) ?? (2 << 20))
      case .success(let dev):
        throw .target(
          "--devdax \(RawPath.display(path)) is character device \(dev.number)\(dev.subsystem.map { " of the \($0) subsystem" } ?? ""), not device-DAX: name a /dev/daxX.Y (ndctl create-namespace -m devdax)")
      case .failure(let e) where e == .operationNotSupportedByDevice:
        let what = (try? kernel.status(path).get()).map { Self.describe($0.type) } ?? "not a character device"
        throw .target("--devdax \(RawPath.display(path)) is \(what), not a device-DAX character device")
      case .failure(let e):
        throw .target("--devdax \(RawPath.display(path)): \(e.name)")
      }
    }
    let found =
      inventory.pmem.daxDevices.first { $0.mode == "devdax" && $0.size > 0 }.map { ($0.chardev, Int($0.align)) }
      ?? inventory.pmem.namespaces.first { $0.mode == "devdax" && $0.chardev != nil }.map { ($0.chardev!, Int($0.align ?? (2 << 20))) }
    guard let (name, align) = found else { return nil }
    let path = "/dev/\(name)"
    guard case .success(let dev) = kernel.characterDevice(path), dev.isDeviceDAX else { return nil }
    return DevdaxTarget(path: path, align: dev.align ?? align)
  }

  private func inventoryAlign(_ path: String) -> Int? {
    let name = path.split(separator: "/").last.map(String.init) ?? path
    return (inventory.pmem.daxDevices.first { $0.chardev == name }?.align ?? inventory.pmem.namespaces.first { $0.chardev == name }?.align)
      .map { Int($0) }
  }

  private func vfioGroup() -> VFIOGroupTarget? {
    let candidates = inventory.vfio.groups.filter { request.vfioGroup == nil || $0.id == request.vfioGroup }
    if let node = candidates.first {
      let devices = inventory.iommu.groups.first { $0.id == node.id }?.devices ?? []
      return VFIOGroupTarget(
        id: node.id, node: node.node, noiommu: node.noiommu, mdevOnly: !devices.isEmpty && devices.allSatisfy { $0.bus == "mdev" },
        deviceCdev: devices.compactMap(\.vfioCdev).first, deviceAddress: devices.first?.address)
    }
    return request.vfioGroup.map { VFIOGroupTarget(id: $0, node: "/dev/vfio/\($0)") }
  }

  static func describe(_ type: FileStatus.FileType) -> String {
    switch type {
    case .regular: "a regular file"
    case .directory: "a directory"
    case .characterDevice: "a character device"
    case .blockDevice: "a block device"
    case .symbolicLink: "a symbolic link"
    case .fifo: "a FIFO"
    case .socket: "a socket"
    }
  }
}
