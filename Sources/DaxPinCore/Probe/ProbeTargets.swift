/// What the probe points at on this host: resolved from the inventory and the user's options.
public struct ProbeTargets: Sendable, Equatable {
  /// Directory on a disk-backed, non-DAX filesystem for the page-cache kinds.
  public var pagecacheDirectory: String?
  /// Directory on tmpfs for tmpfs-shared.
  public var tmpfsDirectory: String?
  /// A directory on a DAX mount per filesystem (`ext4`, `xfs`).
  public var fsdaxDirectories: [String: String]
  /// `/dev/daxX.Y` and its align.
  public var devdax: DevdaxTarget?
  /// Free 2 MiB huge pages.
  public var hugetlbFree2M: Int
  /// The VFIO group to use, if any.
  public var vfioGroup: VFIOGroupTarget?
  public var vfioContainer: Bool
  public var iommufd: Bool
  public var ioUring: Bool
  public var ioUringError: String?
  /// Bytes per probe buffer (one 2 MiB huge page; devdax uses its align when larger).
  public var bufferSize: Int

  public init(
    pagecacheDirectory: String? = nil, tmpfsDirectory: String? = nil, fsdaxDirectories: [String: String] = [:],
    devdax: DevdaxTarget? = nil, hugetlbFree2M: Int = 0, vfioGroup: VFIOGroupTarget? = nil, vfioContainer: Bool = false,
    iommufd: Bool = false, ioUring: Bool = false, ioUringError: String? = nil, bufferSize: Int = 2 << 20
  ) {
    self.pagecacheDirectory = pagecacheDirectory
    self.tmpfsDirectory = tmpfsDirectory
    self.fsdaxDirectories = fsdaxDirectories
    self.devdax = devdax
    self.hugetlbFree2M = hugetlbFree2M
    self.vfioGroup = vfioGroup
    self.vfioContainer = vfioContainer
    self.iommufd = iommufd
    self.ioUring = ioUring
    self.ioUringError = ioUringError
    self.bufferSize = bufferSize
  }
}

public struct DevdaxTarget: Sendable, Equatable {
  public var path: String
  public var align: Int
  public init(path: String, align: Int) {
    self.path = path
    self.align = align
  }
}

/// A VFIO group already bound to VFIO by the administrator (daxpin never rebinds devices).
public struct VFIOGroupTarget: Sendable, Equatable {
  public var id: Int
  public var node: String
  public var noiommu: Bool
  /// Every device in the group is an mdev: type1 keeps no IOMMU domain, MAP_DMA pins nothing.
  public var mdevOnly: Bool
  /// The vfio cdev of the group's first device (`/dev/vfio/devices/vfio0`), 6.6+.
  public var deviceCdev: String?
  /// The group's first device (`0000:00:03.0`), for VFIO_GROUP_GET_DEVICE_FD.
  public var deviceAddress: String?
  public init(
    id: Int, node: String, noiommu: Bool = false, mdevOnly: Bool = false, deviceCdev: String? = nil, deviceAddress: String? = nil
  ) {
    self.deviceAddress = deviceAddress
    self.id = id
    self.node = node
    self.noiommu = noiommu
    self.mdevOnly = mdevOnly
    self.deviceCdev = deviceCdev
  }
}

/// The user's choices on the command line.
public struct ProbeOptions: Sendable, Equatable {
  public var pagecacheDirectory: String?
  public var fsdaxDirectories: [String]
  public var devdax: String?
  public var vfioGroup: Int?
  public init(pagecacheDirectory: String? = nil, fsdaxDirectories: [String] = [], devdax: String? = nil, vfioGroup: Int? = nil) {
    self.pagecacheDirectory = pagecacheDirectory
    self.fsdaxDirectories = fsdaxDirectories
    self.devdax = devdax
    self.vfioGroup = vfioGroup
  }
}

extension ProbeTargets {
  /// Targets from the inventory; options override what was discovered. Explicit `--fsdax-dir`
  /// directories are given here by filesystem after the caller asked statfs which one they are on.
  public static func resolve(
    inventory inv: Inventory, options: ProbeOptions, fsdaxOverrides: [String: String] = [:]
  ) -> ProbeTargets {
    var t = ProbeTargets()
    t.pagecacheDirectory = options.pagecacheDirectory ?? "/var/tmp"
    t.tmpfsDirectory = "/dev/shm"
    // statx reports DAX on regular files only, so the mount root says nothing; the probe confirms
    // STATX_ATTR_DAX on the file it creates.
    for m in inv.daxMounts where t.fsdaxDirectories[m.fstype] == nil {
      t.fsdaxDirectories[m.fstype] = m.mountPoint
    }
    if !options.fsdaxDirectories.isEmpty { t.fsdaxDirectories = fsdaxOverrides }
    if let path = options.devdax {
      let name = path.split(separator: "/").last.map(String.init) ?? path
      let align = inv.pmem.daxDevices.first { $0.chardev == name }?.align
        ?? inv.pmem.namespaces.first { $0.chardev == name }?.align ?? (2 << 20)
      t.devdax = DevdaxTarget(path: path, align: Int(align))
    } else if let dev = inv.pmem.daxDevices.first(where: { $0.mode == "devdax" && $0.size > 0 }) {
      t.devdax = DevdaxTarget(path: "/dev/\(dev.chardev)", align: Int(dev.align))
    } else if let ns = inv.pmem.namespaces.first(where: { $0.mode == "devdax" && $0.chardev != nil }) {
      t.devdax = DevdaxTarget(path: "/dev/\(ns.chardev!)", align: Int(ns.align ?? (2 << 20)))
    }
    t.hugetlbFree2M = inv.hugetlb.first { $0.pageSizeKB == 2048 }?.free ?? 0
    t.vfioContainer = inv.vfio.container
    t.iommufd = inv.iommufd.present
    t.ioUring = inv.ioUring.available
    t.ioUringError = inv.ioUring.setupErrno
    let candidates = inv.vfio.groups.filter { options.vfioGroup == nil || $0.id == options.vfioGroup }
    if let node = candidates.first {
      let devices = inv.iommu.groups.first { $0.id == node.id }?.devices ?? []
      t.vfioGroup = VFIOGroupTarget(
        id: node.id, node: node.node, noiommu: node.noiommu,
        mdevOnly: !devices.isEmpty && devices.allSatisfy { $0.bus == "mdev" },
        deviceCdev: devices.compactMap(\.vfioCdev).first, deviceAddress: devices.first?.address)
    } else if let id = options.vfioGroup {
      t.vfioGroup = VFIOGroupTarget(id: id, node: "/dev/vfio/\(id)")
    }
    return t
  }
}
