/// What `daxpin bench` is asked to time: interfaces × memories, the buffer size, how many
/// pin + unpin rounds, and the objects named on the command line.
public struct BenchRequest: Sendable, Equatable {
  public var interfaces: [Interface]
  public var memories: [BenchMemory]
  /// Bytes per buffer before any reduction (`--size`).
  public var size: Int
  /// Timed pin + unpin rounds per cell, after one untimed round that checks the accounting.
  public var iterations: Int
  public var devdax: String?
  public var vfioGroup: Int?
  public var toolVersion: String
  /// Send SIGINT to daxpin itself after this many timed rounds in all (tests the cleanup path).
  public var interruptAfter: Int?

  public static let defaultSize = 1 << 30
  public static let defaultIterations = 20

  /// Each interface and memory once, in the vocabulary's order; empty lists mean all.
  public init(
    interfaces: [Interface] = [], memories: [BenchMemory] = [], size: Int = defaultSize, iterations: Int = defaultIterations,
    devdax: String? = nil, vfioGroup: Int? = nil, toolVersion: String = "0", interruptAfter: Int? = nil
  ) {
    let i = Set(interfaces)
    self.interfaces = interfaces.isEmpty ? BenchMemory.interfaces : Interface.allCases.filter { i.contains($0) }
    let m = Set(memories)
    self.memories = memories.isEmpty ? BenchMemory.allCases : BenchMemory.allCases.filter { m.contains($0) }
    self.size = size
    self.iterations = iterations
    self.devdax = devdax
    self.vfioGroup = vfioGroup
    self.toolVersion = toolVersion
    self.interruptAfter = interruptAfter
  }

  /// The probe request whose targets (device-DAX, VFIO group) the bench uses.
  var probeRequest: ProbeRequest {
    ProbeRequest(
      interfaces: interfaces, kinds: memories.contains(.devdax) ? [.devdax] : [.anon], accesses: [.rw], devdax: devdax, vfioGroup: vfioGroup,
      toolVersion: toolVersion)
  }
}
