import SystemPackage

/// What the kernel will answer when the VMM maps one region for DMA.
public struct PinPrediction: Sendable, Equatable {
  public enum Outcome: String, Codable, Sendable {
    case pinned, refused
    /// No memory kind describes the backing: nothing to predict from.
    case unknown
  }
  /// Where a refusal happens.
  public enum Stage: String, Codable, Sendable {
    /// The VMM's own mmap of the backing fails before anything is pinned.
    case mmap
    /// The long-term pin (`VFIO_IOMMU_MAP_DMA`, `IOMMU_IOAS_MAP`).
    case pin
  }

  public var outcome: Outcome
  public var errno: Errno?
  /// The rule's name: an origin of the rule table (`gup-file-dirty-tracking`) or one of check's
  /// own (`devdax-mmap-align`, `vfio-dma-entry-limit`, `memlock-accounting`).
  public var rule: String
  /// Why the rule applies here.
  public var basis: String
  public var cause: PinCause?
  /// What would make it pin, in the configuration's own terms.
  public var fix: String?
  public var stage: Stage?
  /// The prediction comes from the rule table (`Expectations.rules`), so a probe of the same
  /// kind and access can confirm it.
  public var fromRuleTable: Bool

  public init(
    outcome: Outcome, errno: Errno? = nil, rule: String, basis: String, cause: PinCause? = nil, fix: String? = nil, stage: Stage? = nil,
    fromRuleTable: Bool
  ) {
    self.outcome = outcome
    self.errno = errno
    self.rule = rule
    self.basis = basis
    self.cause = cause
    self.fix = fix
    self.stage = stage
    self.fromRuleTable = fromRuleTable
  }
}

/// Predicts each region's answer: first what fails before any pin (a device-DAX mapping QEMU
/// cannot make), then the limits that refuse a pin whatever the memory (RLIMIT_MEMLOCK,
/// dma_entry_limit), then the rule table for this kernel (`Expectations.expectation`).
public struct PinPredictor {
  public let features: KernelFeatures
  public let dialect: VMMDialect
  /// `vfio_iommu_type1.dma_entry_limit` (the inventory's, else the kernel default 65535).
  public let dmaEntryLimit: Int
  public let dmaEntryLimitKnown: Bool
  public let limits: ProcessLimits?

  public static let defaultDMAEntryLimit = 65535

  public init(features: KernelFeatures, dialect: VMMDialect, dmaEntryLimit: Int?, limits: ProcessLimits? = nil) {
    self.features = features
    self.dialect = dialect
    self.dmaEntryLimit = dmaEntryLimit ?? Self.defaultDMAEntryLimit
    dmaEntryLimitKnown = dmaEntryLimit != nil
    self.limits = limits
  }

  /// - Parameters:
  ///   - lockedBefore: bytes the regions mapped before this one charge to RLIMIT_MEMLOCK.
  ///   - mappingsBefore: DMA mappings the regions before this one take in the container.
  public func predict(
    _ r: MemoryRegion, _ c: RegionClassification, interface: Interface, lockedBefore: UInt64 = 0, mappingsBefore: Int = 0
  ) -> PinPrediction {
    guard let kind = c.kind else {
      return PinPrediction(
        outcome: .unknown, rule: "unclassified", basis: "\(c.evidence): no memory kind daxpin knows describes this backing", cause: .unknown,
        fromRuleTable: false)
    }
    if kind == .devdax, let p = devdaxMapping(r, c) { return p }
    if let limits, !limits.capIPCLock, let budget = limits.memlockBytes, lockedBefore + r.size > budget {
      return PinPrediction(
        outcome: .refused, errno: .noMemory, rule: "memlock-accounting",
        basis:
          "the VMM lacks CAP_IPC_LOCK and its RLIMIT_MEMLOCK is \(ByteSize.describe(budget)); pinned guest memory reaches \(ByteSize.describe(lockedBefore + r.size)) with this region",
        cause: .memlockLimit, fix: "raise the VMM's RLIMIT_MEMLOCK to at least \(ByteSize.describe(lockedBefore + r.size)) (LimitMEMLOCK=, ulimit -l), or give it CAP_IPC_LOCK",
        stage: .pin, fromRuleTable: false)
    }
    if r.role == .virtioMem, interface == .vfioType1 || interface == .vfioType1v2, let block = r.blockSize {
      let blocks = Int((r.size + block - 1) / block)
      if mappingsBefore + blocks > dmaEntryLimit {
        let needed = (r.size + UInt64(max(1, dmaEntryLimit - mappingsBefore)) - 1) / UInt64(max(1, dmaEntryLimit - mappingsBefore))
        return PinPrediction(
          outcome: .refused, errno: .noSpace, rule: "vfio-dma-entry-limit",
          basis:
            "virtio-mem maps each plugged \(ByteSize.describe(block)) block on its own: \(blocks) mappings when fully plugged, past dma_entry_limit \(dmaEntryLimit)\(dmaEntryLimitKnown ? "" : " (the default: vfio_iommu_type1 is not loaded here)")",
          cause: .dmaEntryLimit, fix: fix(.dmaEntryLimit, r, minimumBlock: needed), stage: .pin, fromRuleTable: false)
      }
    }
    let e = Expectations.expectation(for: ProbeID(interface, kind, r.access), on: features)
    guard e.outcome == .refused, let raw = e.errno else {
      return PinPrediction(outcome: .pinned, rule: e.origin, basis: e.basis, fromRuleTable: true)
    }
    let cause = PinCause(ruleOrigin: e.origin)
    return PinPrediction(
      outcome: .refused, errno: Errno(rawValue: raw), rule: e.origin, basis: e.basis, cause: cause, fix: fix(cause, r), stage: .pin,
      fromRuleTable: true)
  }

  /// drivers/dax/device.c check_vma: a device-DAX mapping must be shared, and start and end on
  /// the device's align. QEMU reserves its area and maps the device at `align=` (the page size
  /// when absent); cloud-hypervisor lets the kernel place it (dax's get_unmapped_area aligns it),
  /// so only the size can be wrong there.
  func devdaxMapping(_ r: MemoryRegion, _ c: RegionClassification) -> PinPrediction? {
    let dev = c.devdaxAlign ?? (2 << 20)
    let assumed = c.devdaxAlign == nil ? " (assumed: the device is not here to ask)" : ""
    if !r.shared {
      return PinPrediction(
        outcome: .refused, errno: .invalidArgument, rule: "devdax-mmap-shared",
        basis: "drivers/dax/device.c check_vma refuses a MAP_PRIVATE mapping of device-DAX with EINVAL; the VMM's mmap fails before any pin",
        cause: .devdaxPrivateMapping, fix: fix(.devdaxPrivateMapping, r), stage: .mmap, fromRuleTable: false)
    }
    let qemuAlign = r.align ?? 4096
    if dialect != .cloudHypervisor && (qemuAlign < dev || qemuAlign % dev != 0) {
      return PinPrediction(
        outcome: .refused, errno: .invalidArgument, rule: "devdax-mmap-align",
        basis:
          "the device's align is \(ByteSize.describe(dev))\(assumed); QEMU maps it at \(r.align.map { "align=\(ByteSize.qemuSuffix($0))" } ?? "the page size (no align=)"), and check_vma refuses an unaligned mapping with EINVAL: QEMU fails with \"unable to map backing store for guest RAM: Invalid argument\"",
        cause: .devdaxAlignment, fix: fix(.devdaxAlignment, r, deviceAlign: dev), stage: .mmap, fromRuleTable: false)
    }
    if r.size > 0 && r.size % dev != 0 {
      return PinPrediction(
        outcome: .refused, errno: .invalidArgument, rule: "devdax-mmap-align",
        basis: "the size \(ByteSize.describe(r.size)) is not a multiple of the device's align \(ByteSize.describe(dev))\(assumed): check_vma refuses the mapping's end with EINVAL",
        cause: .devdaxAlignment, fix: "a size that is a multiple of \(ByteSize.describe(dev))", stage: .mmap, fromRuleTable: false)
    }
    return nil
  }

  /// The fix for `cause`, in the configuration's own terms.
  func fix(_ cause: PinCause, _ r: MemoryRegion, deviceAlign: UInt64 = 2 << 20, minimumBlock: UInt64 = 0) -> String? {
    let file = r.role == .nvdimm || r.role == .virtioPmem
    switch (cause, dialect) {
    case (.fsdaxLongtermPin, .qemu):
      return file
        ? "put it on device-DAX: mem-path=/dev/daxX.Y,share=on,align=2M (ndctl create-namespace -m devdax)"
        : "put guest RAM on device-DAX (mem-path=/dev/daxX.Y,share=on,align=2M; ndctl create-namespace -m devdax), or use memfd"
    case (.fsdaxLongtermPin, .libvirt):
      return file
        ? "put it on device-DAX: <source><path>/dev/daxX.Y</path><alignsize unit='KiB'>2048</alignsize></source> with access='shared' (ndctl create-namespace -m devdax)"
        : "put guest RAM on device-DAX (an nvdimm <memory> on /dev/daxX.Y), or use <source type='memfd'/>"
    case (.fsdaxLongtermPin, .cloudHypervisor):
      return "put guest RAM on device-DAX: file=/dev/daxX.Y,shared=on (ndctl create-namespace -m devdax), or drop file="
    case (.fileWritebackPin, .qemu):
      return file ? "use share=off, or a mem-path on device-DAX or tmpfs" : "use share=off or memfd (memory-backend-memfd), or a mem-path on tmpfs or hugetlbfs"
    case (.fileWritebackPin, .libvirt):
      return file
        ? "use access='private' on the <memory> device, or a <path> on device-DAX or tmpfs"
        : "use <access mode='private'/> or <source type='memfd'/> in <memoryBacking>"
    case (.fileWritebackPin, .cloudHypervisor):
      return "use shared=off, or drop file= (shared=on without file= is memfd)"
    case (.ioUringFileBacked, _):
      return "use memfd or anonymous memory (before 6.5 io_uring pins no other file)"
    case (.devdaxAlignment, .qemu):
      return "align=\(ByteSize.qemuSuffix(deviceAlign))"
    case (.devdaxAlignment, .libvirt):
      return "<alignsize unit='KiB'>\(deviceAlign >> 10)</alignsize> in the <memory> device's <source>"
    case (.devdaxAlignment, .cloudHypervisor):
      return "a size that is a multiple of \(ByteSize.describe(deviceAlign))"
    case (.devdaxPrivateMapping, .qemu):
      return "share=on"
    case (.devdaxPrivateMapping, .libvirt):
      return "access='shared' on the <memory> device"
    case (.devdaxPrivateMapping, .cloudHypervisor):
      return "shared=on"
    case (.dmaEntryLimit, .qemu):
      return "block-size=\(ByteSize.qemuSuffix(nextPowerOfTwo(minimumBlock))) or larger on the virtio-mem device, or raise vfio_iommu_type1.dma_entry_limit"
    case (.dmaEntryLimit, _):
      return "<block> of \(ByteSize.describe(nextPowerOfTwo(minimumBlock))) or larger in the virtio-mem <target>, or raise vfio_iommu_type1.dma_entry_limit"
    case (.memlockLimit, _), (.pfnmapNoStructPage, _), (.unknown, _):
      return nil
    }
  }

  func nextPowerOfTwo(_ v: UInt64) -> UInt64 {
    var p: UInt64 = 2 << 20
    while p < v { p <<= 1 }
    return p
  }
}
