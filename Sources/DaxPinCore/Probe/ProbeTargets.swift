/// What the probe points at on this host: resolved once by `TargetResolver` from the inventory
/// and the user's request.
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
  /// The NUMA node of device-DAX memory onlined as movable System RAM (`--kmem-node`).
  public var kmemNode: Int?
  /// Bytes per probe buffer (one 2 MiB huge page; devdax uses its align when larger).
  public var bufferSize: Int

  public init(
    pagecacheDirectory: String? = nil, tmpfsDirectory: String? = nil, fsdaxDirectories: [String: String] = [:],
    devdax: DevdaxTarget? = nil, hugetlbFree2M: Int = 0, vfioGroup: VFIOGroupTarget? = nil, vfioContainer: Bool = false,
    iommufd: Bool = false, bufferSize: Int = 2 << 20
  ) {
    self.pagecacheDirectory = pagecacheDirectory
    self.tmpfsDirectory = tmpfsDirectory
    self.fsdaxDirectories = fsdaxDirectories
    self.devdax = devdax
    self.hugetlbFree2M = hugetlbFree2M
    self.vfioGroup = vfioGroup
    self.vfioContainer = vfioContainer
    self.iommufd = iommufd
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

extension ProbeTargets {
  /// The directories the run creates its private directory in (and sweeps for leftovers).
  public var scratchParents: [String] {
    var seen: Set<String> = []
    return ([pagecacheDirectory, tmpfsDirectory].compactMap { $0 } + fsdaxDirectories.keys.sorted().map { fsdaxDirectories[$0]! })
      .filter { seen.insert($0).inserted }
  }
}
