import FoundationEssentials
import SystemPackage
import Testing

@testable import DaxPinCore

/// SplitMix64: a small deterministic generator, so every run explains the same lines.
struct SplitMix64 {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }
}

@Suite("daxpin explain: fuzz")
struct ExplainFuzzTests {
  /// Pieces of real messages, and the characters the matchers look at.
  static let fragments: [String] = [
    "vfio_dma_map(", "vfio_container_dma_map(", "0x560a3b6ed880", ", ", "0x100000000", ") = -", "14", " (Bad address)",
    "-22 (Invalid argument)", "= -12 (Cannot allocate memory)", "Region ", "pc.ram", ": ", "0000:41:00.0 BAR 1 mmaps[0]",
    "memory listener initialization failed: ", "failed to setup container for group 17: ", "VFIO_MAP_DMA failed: ",
    "VFIO_MAP_DMA: -", "IOMMU_IOAS_MAP failed: ", "Operation not supported", "Bad address, PCI BAR?",
    "unable to map backing store for guest RAM: ", "mem-path=/dev/dax0.0", "/dev/dax", "VfioDmaMap(IommuDmaMap(Error(",
    "Os { code: ", "spdk_mem_register() failed", "Cannot set up DMA mapping, error ", "nvme_pcie_ctrlr_map_io_cmb",
    "ibv_reg_mr failed", "registering memory: Unknown error -", "mr_umem_get: umem get failed (", "-95)",
    "io_uring_register_buffers: ", "-EOPNOTSUPP", "EFAULT", "ENOTSUP", "E", "RLIMIT_MEMLOCK (", "65536", ") exceeded",
    "dax_mmap: fail, unaligned vma (", "fail, attempted private mapping", "dma_entry_limit", "No space left on device",
    "possibly running out of DMA mappings", "PCI peer-to-peer transactions on BARs are not supported.", "warning: ",
    "DMA mapping failed, unable to continue", "fsdax", "pmem", "devdax", "memfd", "/dev/shm", "cmb", "bar", "BAR 2", "dax",
    "(", ")", "((((((", "))))))", "-", "--", "=", "error ", "errno=", "err=", "Error(", "code: ", "\"", "\\", "\t", "\r",
    "\u{0}", "\u{1B}[31m", "é", "日本", "\u{2028}", "🙂",
  ]

  /// Numbers that must not be read as errnos, or overflow anything.
  static let numbers: [String] = [
    "-99999999999999999999999999999999", "18446744073709551616", "-2147483648", "-4096", "-4095", "-0", "-00014", "0x",
    "0xffffffffffffffffffffffff", "-1e9", "-14.5", "2024-05-14", "9223372036854775807",
  ]

  static let invalidUTF8: [[UInt8]] = [[0xFF], [0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80, 0x80], [0xE2, 0x82]]

  static func line(_ g: inout SplitMix64) -> [UInt8] {
    var out: [UInt8] = []
    let pieces = 1 + g.below(24)
    for _ in 0..<pieces {
      switch g.below(10) {
      case 0...4: out += Array(g.pick(fragments).utf8)
      case 5: out += Array(g.pick(numbers).utf8)
      case 6: out += g.pick(invalidUTF8)
      case 7: for _ in 0..<(1 + g.below(16)) { out.append(UInt8(truncatingIfNeeded: g.next())) }
      case 8: out += Array(String(g.next() % 5000).utf8)
      default: out += Array(String(repeating: g.below(2) == 0 ? "(" : ")", count: 1 + g.below(40)).utf8)
      }
    }
    // One line in 250 is very long: past the 64 KiB cut, with a message before or after it.
    if g.below(250) == 0 {
      let filler = Array(g.pick(fragments).utf8)
      var long: [UInt8] = []
      while long.count < 70_000 + g.below(60_000) { long += filler.isEmpty ? [0x41] : filler }
      out = g.below(2) == 0 ? out + long : long + out
    }
    return out
  }

  @Test func twentyThousandLinesNeverCrashAndStayInTheVocabulary() throws {
    var g = SplitMix64(state: 0xDA8_B14)
    let vocabulary = Set(PinCause.allCases.map(\.rawValue))
    let confidences = Set(Confidence.allCases.map(\.rawValue))
    let kernels: [KernelVersion?] = [nil, KernelVersion(4, 14), KernelVersion(5, 10), KernelVersion(6, 1), KernelVersion(6, 5), KernelVersion(6, 12), KernelVersion(7, 3)]
    var recognised = 0
    var truncated = 0
    var seen: Set<PinCause> = []
    // Violations are collected and checked once: 20,000 lines × several checks each would spend
    // most of the test's time recording expectations.
    var violations: [String] = []
    for n in 1...20_000 {
      var raw = Self.line(&g)
      // A newline splits input into lines; a fuzzed line holds none, as the splitter guarantees.
      raw = raw.map { $0 == 0x0A ? 0x20 : $0 }
      let kept = Array(raw.prefix(ExplainLimits.lineBytes))
      let line = ExplainInput.Line(input: "fuzz", number: n, bytes: kept, truncated: raw.count > kept.count)
      let e = Explainer(kernel: g.pick(kernels)).explain(line)
      if e.recognised != !e.causes.isEmpty { violations.append("line \(n): recognised \(e.recognised) with \(e.causes.count) causes") }
      if e.line.utf8.count > 3 * ExplainLimits.lineBytes { violations.append("line \(n): \(e.line.utf8.count) bytes shown") }
      for c in e.causes {
        if !vocabulary.contains(c.cause.rawValue) { violations.append("line \(n): cause \(c.cause.rawValue)") }
        if !confidences.contains(c.confidence.rawValue) { violations.append("line \(n): confidence \(c.confidence.rawValue)") }
        if !(0...100).contains(c.score) { violations.append("line \(n): score \(c.score)") }
        seen.insert(c.cause)
      }
      if !zip(e.causes, e.causes.dropFirst()).allSatisfy({ $0.score >= $1.score }) { violations.append("line \(n): not ranked") }
      if e.recognised { recognised += 1 }
      if e.truncated == true { truncated += 1 }
      // Every 100th line goes through the JSON and the text as well.
      if n % 100 == 0 {
        let json = try ReportJSON.encodeLine(e)
        let back = try ReportJSON.decode(ExplainedLine.self, from: json)
        if back.causes.map(\.cause) != e.causes.map(\.cause) || back.line != e.line { violations.append("line \(n): JSON round trip") }
        if ExplainText.block(e).isEmpty { violations.append("line \(n): no text") }
      }
    }
    #expect(violations.prefix(20) == [])
    // The fuzz reaches the recognisers and every cause, not only the "not recognised" path.
    #expect(recognised > 5_000)
    #expect(truncated > 0)
    #expect(seen == Set(PinCause.allCases))
  }
}
