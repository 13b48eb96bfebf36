/// What the user asked `daxpin probe` (or the lab, or a test) for, typed. Interfaces, kinds and
/// accesses are kept once each, in the vocabulary's order, whatever order or repetition the
/// command line used; empty means all.
public struct ProbeRequest: Sendable, Equatable {
  public var interfaces: [Interface]
  public var kinds: [MemoryKind]
  public var accesses: [Access]
  /// `--pagecache-dir`: a directory on a disk-backed filesystem without DAX (default /var/tmp).
  public var pagecacheDirectory: String?
  /// `--fsdax-dir`: directories on ext4 or xfs DAX mounts, at most one per filesystem type.
  public var fsdaxDirectories: [String]
  /// `--devdax`: a device-DAX character device.
  public var devdax: String?
  /// A directory on tmpfs for tmpfs-shared (default /dev/shm); `daxpin check --probe` points it
  /// at a VM's own tmpfs directory.
  public var tmpfsDirectory: String?
  /// `--vfio-group`: a VFIO group already bound to vfio-pci.
  public var vfioGroup: Int?
  /// `--kmem-node`: a NUMA node made of device-DAX memory onlined movable as System RAM, for
  /// `devdax-kmem` (daxpin never reconfigures a device: the administrator did).
  public var kmemNode: Int?
  /// Raise SIGINT after this many probes (tests the cleanup path).
  public var interruptAfter: Int?
  public var toolVersion: String

  public init(
    interfaces: [Interface] = [], kinds: [MemoryKind] = [], accesses: [Access] = [], pagecacheDirectory: String? = nil,
    fsdaxDirectories: [String] = [], devdax: String? = nil, tmpfsDirectory: String? = nil, vfioGroup: Int? = nil, interruptAfter: Int? = nil,
    toolVersion: String = "0", kmemNode: Int? = nil
  ) {
    self.kmemNode = kmemNode
    self.interfaces = Self.once(interfaces)
    self.kinds = Self.once(kinds)
    self.accesses = Self.once(accesses)
    // `dir/` would make every check follow a final symlink (`link/` resolves it): the names are
    // checked, and used, without trailing slashes.
    self.pagecacheDirectory = pagecacheDirectory.map(Self.withoutTrailingSlashes)
    self.fsdaxDirectories = fsdaxDirectories.map(Self.withoutTrailingSlashes)
    self.devdax = devdax.map(Self.withoutTrailingSlashes)
    self.tmpfsDirectory = tmpfsDirectory
    self.vfioGroup = vfioGroup
    self.interruptAfter = interruptAfter
    self.toolVersion = toolVersion
  }

  /// `path` without trailing slashes (`/` stays `/`).
  static func withoutTrailingSlashes(_ path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    return String(p)
  }

  /// Each value once, in `allCases` order; all of them when none was named.
  static func once<T: CaseIterable & Hashable>(_ values: [T]) -> [T] {
    let chosen = Set(values)
    return T.allCases.filter { chosen.isEmpty || chosen.contains($0) }
  }

  /// The default directory for the page-cache kinds.
  public static let defaultPagecacheDirectory = "/var/tmp"
  /// The default tmpfs directory for tmpfs-shared.
  public static let defaultTmpfsDirectory = "/dev/shm"
}
