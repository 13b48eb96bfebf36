import SystemPackage

/// A misuse case with a known kernel answer.
public enum MisuseScenario: String, CaseIterable, Sendable, Codable, CodingKeyRepresentable, Comparable {
  case setIOMMUWithoutGroup = "vfio.set-iommu-without-group"
  case mapBeforeSetIOMMU = "vfio.map-before-set-iommu"
  case overlappingMap = "vfio.overlapping-map"
  case unalignedMap = "vfio.unaligned-map"
  case iovaOutsideWindows = "vfio.iova-outside-windows"
  case unmapReportsSize = "vfio.unmap-reports-size"
  case groupOpenedTwice = "vfio.group-opened-twice"
  case devdaxPrivateMmap = "devdax.private-mmap"
  case devdaxUnalignedMmap = "devdax.unaligned-mmap"
  case registerTwice = "io_uring.register-twice"
  case unregisterWithoutBuffers = "io_uring.unregister-without-buffers"
  case unmappedBuffer = "io_uring.unmapped-buffer"

  public static func < (a: Self, b: Self) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// The kernel's answer to a misuse scenario: success (with the value the call returned, where
/// it returns one), an errno, or `unsupported` (the host lacks what the scenario needs; never
/// compared). On the wire (`daxpin contract`) it is one string: `ok`, `ok 4194304`, `EINVAL`,
/// `unsupported: no VFIO group`.
public enum MisuseAnswer: Equatable, Sendable, Codable, CustomStringConvertible {
  case ok
  case value(UInt64)
  case errno(Errno)
  case unsupported(String)

  public var description: String {
    switch self {
    case .ok: "ok"
    case .value(let v): "ok \(v)"
    case .errno(let e): e.name
    case .unsupported(let why): "unsupported: \(why)"
    }
  }

  public init?(parsing s: String) {
    if s == "ok" {
      self = .ok
    } else if s.hasPrefix("ok "), let v = UInt64(s.dropFirst(3)) {
      self = .value(v)
    } else if s.hasPrefix("unsupported: ") {
      self = .unsupported(String(s.dropFirst("unsupported: ".count)))
    } else if let e = Errno(name: s) {
      self = .errno(e)
    } else {
      return nil
    }
  }

  public init(from decoder: any Decoder) throws {
    let s = try decoder.singleValueContainer().decode(String.self)
    guard let a = MisuseAnswer(parsing: s) else {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a misuse answer: \(s)"))
    }
    self = a
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }

  var isUnsupported: Bool { if case .unsupported = self { true } else { false } }
}

public typealias MisuseAnswers = [MisuseScenario: MisuseAnswer]

/// Misuse cases with a known kernel answer, written once against the seam: the fake answers
/// them in `swift test`, real kernels answer them in the lab (`daxpin contract` in the guest),
/// and the lab fails when a kernel and its profile disagree.
public enum MisuseScenarios {
  public struct Context: Sendable {
    public var containerPath: String
    public var groupNode: String?
    public var devdax: DevdaxTarget?
    public init(containerPath: String = "/dev/vfio/vfio", groupNode: String?, devdax: DevdaxTarget?) {
      self.containerPath = containerPath
      self.groupNode = groupNode
      self.devdax = devdax
    }
    public init(targets: ProbeTargets) {
      self.init(groupNode: targets.vfioContainer ? targets.vfioGroup?.node : nil, devdax: targets.devdax)
    }
  }

  /// Runs every scenario; each releases what it took before the next starts.
  public static func run(_ k: any Kernel, _ ctx: Context) -> MisuseAnswers {
    var out: MisuseAnswers = [:]
    for name in MisuseScenario.allCases {
      let cleanup = Cleanup()
      out[name] = answer(name, k, ctx, cleanup)
      cleanup.run()
    }
    return out
  }

  static let mib2: UInt64 = 2 << 20

  private static func answer(_ name: MisuseScenario, _ k: any Kernel, _ ctx: Context, _ cleanup: Cleanup) -> MisuseAnswer {
    func text<T>(_ r: Result<T, Errno>) -> MisuseAnswer {
      switch r {
      case .success(let v as UInt64): .value(v)
      case .success: .ok
      case .failure(let e): .errno(e)
      }
    }
    func anon() -> Mapping? {
      guard case .success(let m) = k.map(length: Int(mib2 * 2), protection: .readWrite, source: .anonymous(hugetlb: false)) else { return nil }
      cleanup.add("munmap") { _ = k.unmap(m) }
      _ = k.fault(m, pageSize: 4096, write: true)
      return m
    }
    func open(_ path: String) -> FileDescriptor? {
      guard case .success(let fd) = k.open(path, writable: true) else { return nil }
      cleanup.add("close") { k.close(fd) }
      return fd
    }
    /// A container with the group attached; with `iommu`, also VFIO_SET_IOMMU(type1v2).
    func container(iommu: Bool) -> FileDescriptor? {
      guard let node = ctx.groupNode, let c = open(ctx.containerPath), let g = open(node) else { return nil }
      guard case .success = k.vfioGroupSetContainer(g, c) else { return nil }
      cleanup.add("unset") { _ = k.vfioGroupUnsetContainer(g) }
      if iommu, case .failure = k.vfioSetIOMMU(c, .type1v2) { return nil }
      return c
    }
    let noVFIO = MisuseAnswer.unsupported("no VFIO group")
    switch name {
    case .setIOMMUWithoutGroup:
      guard ctx.groupNode != nil, let c = open(ctx.containerPath) else { return noVFIO }
      return text(k.vfioSetIOMMU(c, .type1v2))
    case .mapBeforeSetIOMMU:
      guard let c = container(iommu: false), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2, size: mib2, access: .rw)))
    case .overlappingMap:
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      guard case .success = k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2 * 4, size: mib2, access: .rw)) else {
        return .unsupported("first map failed")
      }
      defer { _ = k.vfioUnmapDMA(c, iova: mib2 * 4, size: mib2) }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address) + mib2, iova: mib2 * 4 + 4096, size: mib2 - 4096, access: .rw)))
    case .unalignedMap:
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: mib2, size: 4097, access: .rw)))
    case .iovaOutsideWindows:
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      return text(k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address), iova: 1 << 60, size: mib2, access: .rw)))
    case .unmapReportsSize:
      guard let c = container(iommu: true), let m = anon() else { return noVFIO }
      for i in 0..<2 {
        let r = k.vfioMapDMA(c, DMAMapping(vaddr: UInt64(m.address) + UInt64(i) * mib2, iova: mib2 * UInt64(8 + i), size: mib2, access: .rw))
        if case .failure(let e) = r { return .unsupported("map failed with \(e.name)") }
      }
      return text(k.vfioUnmapDMA(c, iova: mib2 * 8, size: mib2 * 2))
    case .groupOpenedTwice:
      guard let node = ctx.groupNode, open(node) != nil else { return noVFIO }
      let second = k.open(node, writable: true)
      if case .success(let fd) = second { k.close(fd) }
      return text(second)
    case .devdaxPrivateMmap, .devdaxUnalignedMmap:
      guard let dev = ctx.devdax, let fd = open(dev.path) else { return .unsupported("no devdax") }
      let priv = name == .devdaxPrivateMmap
      let r = k.map(length: priv ? dev.align : 4096, protection: .readWrite, source: .file(fd, shared: !priv))
      if case .success(let m) = r { _ = k.unmap(m) }
      return text(r)
    case .registerTwice, .unregisterWithoutBuffers, .unmappedBuffer:
      guard case .success(let ring) = k.ioUringSetup(entries: 1) else { return .unsupported("no io_uring") }
      cleanup.add("close ring") { k.close(ring) }
      if name == .unregisterWithoutBuffers { return text(k.ioUringUnregisterBuffers(ring)) }
      guard let m = anon() else { return .unsupported("no memory") }
      if name == .unmappedBuffer {
        // An address range with nothing mapped: the mapping is made, then unmapped.
        guard case .success(let hole) = k.map(length: Int(mib2), protection: .readWrite, source: .anonymous(hugetlb: false)) else {
          return .unsupported("no memory")
        }
        _ = k.unmap(hole)
        return text(k.ioUringRegisterBuffers(ring, [hole]))
      }
      guard case .success = k.ioUringRegisterBuffers(ring, [m]) else { return .unsupported("first register failed") }
      defer { _ = k.ioUringUnregisterBuffers(ring) }
      return text(k.ioUringRegisterBuffers(ring, [m]))
    }
  }

  /// Scenario disagreements between a real kernel's answers and its profile's.
  public static func differences(real: MisuseAnswers, model: MisuseAnswers) -> [String] {
    MisuseScenario.allCases.compactMap { n in
      guard let r = real[n], let m = model[n], !r.isUnsupported, !m.isUnsupported else { return nil }
      return r == m ? nil : "\(n.rawValue): kernel \(r), profile \(m)"
    }
  }
}
