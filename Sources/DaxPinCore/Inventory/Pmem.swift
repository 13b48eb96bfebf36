/// Persistent memory as libndctl and libdaxctl see it. Field names follow `ndctl list` and
/// `daxctl list` JSON so the two can be compared directly.
public struct PmemInfo: Codable, Sendable, Equatable {
  /// NVDIMM buses (`ndctl list -B`), each with its regions and namespaces.
  public var buses: [NdBus]
  /// Device-DAX regions (`daxctl list -R`), each with its devices.
  public var daxRegions: [DaxRegion]
  /// Why the libraries could not be asked (`ndctl_new: ENOMEM`); omitted when they answered.
  public var error: String?
  public init(buses: [NdBus] = [], daxRegions: [DaxRegion] = [], error: String? = nil) {
    self.buses = buses
    self.daxRegions = daxRegions
    self.error = error
  }
  enum CodingKeys: String, CodingKey {
    case buses, error
    case daxRegions = "dax_regions"
  }
  public var namespaces: [NdNamespace] { buses.flatMap { $0.regions.flatMap(\.namespaces) } }
  public var daxDevices: [DaxDevice] { daxRegions.flatMap(\.devices) }
}

/// An NVDIMM bus: `ACPI.NFIT` (firmware / QEMU nvdimm), `e820` (memmap=), `nfit_test.0`.
public struct NdBus: Codable, Sendable, Equatable {
  public var provider: String
  public var dev: String
  public var regions: [NdRegion]
  public init(provider: String, dev: String, regions: [NdRegion] = []) {
    self.provider = provider
    self.dev = dev
    self.regions = regions
  }
}

/// An NVDIMM region (`region0`): a contiguous range of pmem, carved into namespaces.
public struct NdRegion: Codable, Sendable, Equatable {
  public var dev: String
  public var size: UInt64
  public var availableSize: UInt64?
  public var align: UInt64?
  /// `pmem` or `blk`.
  public var type: String?
  public var namespaces: [NdNamespace]
  public init(
    dev: String, size: UInt64, availableSize: UInt64? = nil, align: UInt64? = nil, type: String? = nil,
    namespaces: [NdNamespace] = []
  ) {
    self.dev = dev
    self.size = size
    self.availableSize = availableSize
    self.align = align
    self.type = type
    self.namespaces = namespaces
  }
  enum CodingKeys: String, CodingKey {
    case dev, size, align, type, namespaces
    case availableSize = "available_size"
  }
}

/// A namespace (`namespace0.0`) and the mode it is configured in.
public struct NdNamespace: Codable, Sendable, Equatable {
  public var dev: String
  /// `fsdax`, `devdax`, `sector`, `raw` or `unknown`.
  public var mode: String
  public var size: UInt64
  public var align: UInt64?
  /// Block device for fsdax / sector / raw (`pmem0`).
  public var blockdev: String?
  /// Character device for devdax (`dax0.0`).
  public var chardev: String?
  /// Where the struct-page metadata lives: `dev` or `mem` (fsdax / devdax).
  public var map: String?
  public var enabled: Bool?
  public init(
    dev: String, mode: String, size: UInt64, align: UInt64? = nil, blockdev: String? = nil,
    chardev: String? = nil, map: String? = nil, enabled: Bool? = nil
  ) {
    self.dev = dev
    self.mode = mode
    self.size = size
    self.align = align
    self.blockdev = blockdev
    self.chardev = chardev
    self.map = map
    self.enabled = enabled
  }
}

/// A device-DAX region (`daxctl list -R`).
public struct DaxRegion: Codable, Sendable, Equatable {
  public var id: Int
  public var size: UInt64
  public var availableSize: UInt64?
  public var align: UInt64
  public var path: String?
  public var devices: [DaxDevice]
  public init(
    id: Int, size: UInt64, availableSize: UInt64? = nil, align: UInt64, path: String? = nil,
    devices: [DaxDevice] = []
  ) {
    self.id = id
    self.size = size
    self.availableSize = availableSize
    self.align = align
    self.path = path
    self.devices = devices
  }
  enum CodingKeys: String, CodingKey {
    case id, size, align, path, devices
    case availableSize = "available_size"
  }
}

/// A device-DAX instance (`dax0.0`): a character device, or memory onlined as System RAM.
public struct DaxDevice: Codable, Sendable, Equatable {
  public var chardev: String
  public var size: UInt64
  public var align: UInt64
  /// `devdax` or `system-ram` (bound to kmem).
  public var mode: String
  public var enabled: Bool?
  public init(chardev: String, size: UInt64, align: UInt64, mode: String, enabled: Bool? = nil) {
    self.chardev = chardev
    self.size = size
    self.align = align
    self.mode = mode
    self.enabled = enabled
  }
}
