/// What bounds a bench buffer on this host, read before anything is mapped.
public struct BenchLimits: Sendable, Equatable {
  /// `MemAvailable` in bytes; nil when /proc does not say.
  public var memoryAvailable: Int?
  /// Free pages in the 2 MiB hugetlb pool.
  public var hugetlbFree2M: Int
  /// The device-DAX device's `size` and `align`; nil size when there is no device or sysfs does not say.
  public var devdaxSize: Int?
  public var devdaxAlign: Int
  /// RLIMIT_MEMLOCK (soft) in bytes when pins are charged to it (no CAP_IPC_LOCK); nil otherwise.
  public var memlockBytes: UInt64?

  public init(memoryAvailable: Int?, hugetlbFree2M: Int, devdaxSize: Int?, devdaxAlign: Int = 2 << 20, memlockBytes: UInt64?) {
    self.memoryAvailable = memoryAvailable
    self.hugetlbFree2M = hugetlbFree2M
    self.devdaxSize = devdaxSize
    self.devdaxAlign = devdaxAlign
    self.memlockBytes = memlockBytes
  }
}

/// The size a cell's buffer gets: the request, reduced where the host has less, each reduction
/// said in one sentence; or why the memory cannot be had at all.
public struct BenchSize: Sendable, Equatable {
  public var bytes: Int
  public var reductions: [String]
}

public enum BenchSizing {
  static let huge = 2 << 20
  /// The share of `MemAvailable` a buffer may take: the rest stays for the host.
  static let memoryShare = 2

  /// `requested` rounded down to whole 2 MiB pages (device-DAX: whole `align` units), then
  /// bounded by what the memory draws on: `MemAvailable` / 2 for anonymous and memfd memory (the
  /// buffer is faulted in), the free 2 MiB pool for hugetlb, the device's size for device-DAX, and
  /// RLIMIT_MEMLOCK for every pin when it is charged.
  static func size(_ memory: BenchMemory, requested: Int, limits: BenchLimits) -> Result<BenchSize, Unavailable> {
    let unit = memory == .devdax ? max(limits.devdaxAlign, huge) : huge
    var bytes = requested / unit * unit
    var reductions: [String] = []
    if bytes < requested {
      reductions.append("rounded down to whole \(ByteCount(unit)) pages")
    }
    func bound(_ limit: Int, _ why: String) {
      let limited = limit / unit * unit
      if limited < bytes {
        reductions.append("reduced from \(ByteCount(bytes)) to \(ByteCount(limited)): \(why)")
        bytes = limited
      }
    }
    switch memory {
    case .anon4k, .thp, .memfd:
      if let available = limits.memoryAvailable {
        bound(available / memoryShare, "MemAvailable is \(ByteCount(available)) and the bench takes at most half")
      }
    case .hugetlb2m:
      guard limits.hugetlbFree2M > 0 else {
        return .failure(
          Unavailable(
            outcome: .resourceLimited, reason: "no free 2 MiB huge pages", hint: "sysctl vm.nr_hugepages=\(max(1, requested / huge))"))
      }
      bound(limits.hugetlbFree2M * huge, "the 2 MiB hugetlb pool has \(limits.hugetlbFree2M) free pages (sysctl vm.nr_hugepages)")
    case .devdax:
      if let size = limits.devdaxSize {
        bound(size, "the device-DAX device holds \(ByteCount(size))")
      }
    }
    if let memlock = limits.memlockBytes, memlock < UInt64(Int.max) {
      bound(Int(memlock), "RLIMIT_MEMLOCK is \(ByteCount(Int(memlock))) and pins are charged to it (ulimit -l, or CAP_IPC_LOCK)")
    }
    guard bytes >= unit else {
      return .failure(
        Unavailable(
          outcome: .resourceLimited, reason: "less than \(ByteCount(unit)) fits (every bench buffer is whole \(ByteCount(unit)) units, the huge page size, for every memory): " + reductions.joined(separator: "; "),
          hint: "a larger --size, or free the resource named"))
    }
    return .success(BenchSize(bytes: bytes, reductions: reductions))
  }
}

/// A byte count for people: `1 GiB`, `512 MiB`, `3.5 GiB`, `4 KiB`.
struct ByteCount: CustomStringConvertible {
  var bytes: Int
  init(_ bytes: Int) { self.bytes = bytes }
  var description: String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift {
      let whole = bytes >> shift
      let tenths = ((bytes - (whole << shift)) * 10) >> shift
      return tenths == 0 ? "\(whole) \(unit)" : "\(whole).\(tenths) \(unit)"
    }
    return "\(bytes) B"
  }
}
