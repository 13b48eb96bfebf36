import SystemPackage

/// `daxpin check`'s pipeline over a `Host`: inventory → classify each region through the seam →
/// predict with the rule table for this kernel and the VM's interface → (with `probe`) confirm
/// through the one probe pipeline, `ProbeRun`, on a scratch file in the region's own directory.
/// The real host and the fake one run the same code.
public struct CheckRun {
  public let host: any Host
  public let config: VMConfig
  /// The running VMM's locked-memory budget (`--pid`); nil when unknown.
  public var limits: ProcessLimits?
  /// Confirm each prediction with a real probe (root only).
  public var probe = false
  public var toolVersion = "0"

  public init(host: any Host, config: VMConfig, limits: ProcessLimits? = nil, probe: Bool = false, toolVersion: String = "0") {
    self.host = host
    self.config = config
    self.limits = limits
    self.probe = probe
    self.toolVersion = toolVersion
  }

  public func run() throws(CheckProblem) -> CheckReport {
    if probe && !host.privileged {
      throw .failed("--probe needs root: the probe opens VFIO groups and device-DAX and pins memory (run it with sudo, or without --probe)")
    }
    let inventory = host.inventory()
    let features = KernelFeatures(inventory.kernel)
    let classifier = RegionClassifier(kernel: host.kernel, inventory: inventory, dialect: config.dialect)
    let predictor = PinPredictor(features: features, dialect: config.dialect, dmaEntryLimit: inventory.vfio.dmaEntryLimit, limits: limits)
    let hypothetical = config.devices.isEmpty
    let paths = hypothetical ? [PassthroughPath.container] : config.paths
    let classes = config.regions.map(classifier.classify)

    var notes = config.notes
    if hypothetical {
      notes.insert(
        "no device is passed through: nothing is long-term pinned; each region is predicted as if one were, through the VFIO container (\(Self.interface(for: .container, inventory).rawValue))",
        at: 0)
    }
    if !hypothetical, config.devices.allSatisfy(\.mdev) {
      notes.append("every device is a mediated device: type1 gives it no IOMMU domain and pins pages as its vendor driver asks, not all guest memory up front")
    }

    var entries: [CheckedRegion] = []
    for path in paths {
      let interface = Self.interface(for: path, inventory)
      var locked: UInt64 = 0
      var mappings = 0
      for (region, c) in zip(config.regions, classes) {
        let p = predictor.predict(region, c, interface: interface, lockedBefore: locked, mappingsBefore: mappings)
        if region.dmaMapped {
          locked += region.size
          mappings += region.role == .virtioMem ? Int((region.size + (region.blockSize ?? region.size) - 1) / max(1, region.blockSize ?? region.size)) : 1
        }
        var entry = CheckedRegion(region: region, classification: c, interface: interface, prediction: p)
        if probe { entry.probe = try self.probe(entry, inventory: inventory, features: features) }
        entries.append(entry)
      }
    }
    let devices = config.devices.map { d in
      CheckedDevice(device: d, interface: Self.interface(for: d.path, inventory), onThisHost: d.mdev ? nil : Self.onThisHost(d.address, inventory))
    }
    return CheckReport(
      toolVersion: toolVersion, backend: host.backend, host: host.identity, kernel: inventory.kernel.release, source: config.dialect, name: config.name,
      devices: devices, hypothetical: hypothetical, regions: entries, notes: notes)
  }

  /// The interface a passthrough path pins through on this kernel: the container is type1v2,
  /// or iommufd's compat container where the kernel provides `/dev/vfio/vfio` through iommufd.
  public static func interface(for path: PassthroughPath, _ inventory: Inventory) -> Interface {
    switch path {
    case .iommufd: return .iommufd
    case .container:
      let k = inventory.kernel
      // Only a config that says VFIO_CONTAINER "is not set" counts: an option left out is unknown.
      return k.isEnabled("CONFIG_IOMMUFD_VFIO_CONTAINER") == true && k.option("CONFIG_VFIO_CONTAINER") == "n" ? .iommufdCompat : .vfioType1v2
    }
  }

  static func onThisHost(_ address: String, _ inventory: Inventory) -> String {
    for g in inventory.iommu.groups {
      if let d = g.devices.first(where: { $0.address == address }) {
        return "IOMMU group \(g.id), \(d.driver.map { "driver \($0)" } ?? "no driver bound")"
      }
    }
    return "in no IOMMU group here"
  }

  // MARK: --probe

  /// Why this host cannot pin through `interface` (nil: it can).
  static func unavailable(_ interface: Interface, _ inventory: Inventory) -> String? {
    switch interface {
    case .vfioType1, .vfioType1v2:
      if !inventory.vfio.container { return "this host has no VFIO container (/dev/vfio/vfio)" }
      return inventory.vfio.groups.isEmpty ? "this host has no VFIO group bound to vfio-pci" : nil
    case .iommufdCompat:
      if !inventory.iommufd.present { return "this host has no /dev/iommu" }
      return inventory.vfio.groups.isEmpty ? "this host has no VFIO group bound to vfio-pci" : nil
    case .iommufd, .iommufdFile:
      if !inventory.iommufd.present { return "this host has no /dev/iommu" }
      return inventory.iommu.groups.contains { $0.devices.contains { $0.vfioCdev != nil } } ? nil : "this host has no vfio device cdev"
    case .ioUring:
      return inventory.ioUring.available ? nil : "io_uring is not available here (\(inventory.ioUring.setupErrno ?? "io_uring_setup failed"))"
    case .truncateHeld:
      return "truncate-held is a safety probe, not a VMM's pin path"
    case .rdma, .rdmaODP, .afXDP:
      return "\(interface.rawValue) is not a VM's DMA path: `daxpin check` predicts VFIO and iommufd"
    }
  }

  /// Runs the probe for one entry through `ProbeRun`: the VM's interface where this host has a
  /// free device for it, else io_uring (which needs no device), pointed at the region's own
  /// directory or device.
  func probe(_ e: CheckedRegion, inventory: Inventory, features: KernelFeatures) throws(CheckProblem) -> CheckProbe {
    let vm = e.interface
    guard let kind = e.classification.kind else {
      return CheckProbe(note: "not probed: no memory kind to probe; the prediction stands unconfirmed")
    }
    guard e.prediction.fromRuleTable else {
      return CheckProbe(note: "not probed: the refusal comes \(e.prediction.stage == .mmap ? "at the VMM's mmap" : "from \(e.prediction.rule)"), not from a pin of this memory kind; the answer comes from \(e.prediction.rule)")
    }
    var request = ProbeRequest(kinds: [kind], accesses: [e.region.access], toolVersion: toolVersion)
    // A scratch file goes next to the VM's file: in its directory, never the file itself.
    let dir = e.classification.examined.map { isRegularFile($0) ? parent($0) : $0 }
    switch kind {
    case .pagecacheShared, .pagecachePrivate: request.pagecacheDirectory = dir
    case _ where kind.isFilesystemDAX: request.fsdaxDirectories = dir.map { [$0] } ?? []
    case .tmpfsShared: request.tmpfsDirectory = dir
    case .devdax:
      guard e.classification.missing == nil, let path = e.classification.examined else {
        return CheckProbe(note: "not probed: \(e.classification.missing ?? "no device"); the answer comes from the rule table")
      }
      request.devdax = path
    default: break
    }
    var candidates: [Interface] = []
    var why: [String] = []
    if let reason = Self.unavailable(vm, inventory) { why.append(reason) } else { candidates.append(vm) }
    if vm != .ioUring, Self.unavailable(.ioUring, inventory) == nil { candidates.append(.ioUring) }
    for interface in candidates {
      request.interfaces = [interface]
      let report: Report
      do {
        report = try ProbeRun(host: host, request: request).run()
      } catch {
        if case .interrupted(let signal, _) = error { throw .interrupted(signal: signal) }
        why.append("\(interface.rawValue): \(error.description)")
        continue
      }
      guard let r = report.probes.first else { continue }
      guard r.outcome == .pinned || r.outcome == .refused else {
        why.append("\(interface.rawValue): \(r.outcome.rawValue)\(r.reason.map { " (\($0))" } ?? "")")
        continue
      }
      return judge(r, e, features: features, substituteBecause: interface == vm ? nil : why.joined(separator: "; "))
    }
    return CheckProbe(note: "not probed: \(why.joined(separator: "; ")); the answer comes from the rule table")
  }

  /// The probe's answer against the rule table, and whether it stands for the VM's interface.
  func judge(_ r: ProbeResult, _ e: CheckedRegion, features: KernelFeatures, substituteBecause: String?) -> CheckProbe {
    let expected = Expectations.expectation(for: r.probeID, on: features)
    let agrees = r.outcome == expected.outcome && (r.outcome == .pinned || r.errno == expected.errno)
    let answer = r.outcome == .pinned ? "pinned" : "refused \(r.errnoName ?? "")"
    let predicted = e.prediction.outcome == .pinned ? "pinned" : "refused \(e.prediction.errno?.name ?? "")"
    let sameAsPrediction = expected.outcome.rawValue == e.prediction.outcome.rawValue && expected.errno == e.prediction.errno?.rawValue
    var note: String
    if let because = substituteBecause {
      note = "through io_uring, which needs no device (\(because)): \(answer)"
      if !agrees {
        note += "; the rule table expected \(expected.outcome == .pinned ? "pinned" : "refused \(expected.errnoName ?? "")") for io_uring [\(expected.origin)]: the table is wrong here"
      } else if sameAsPrediction {
        note += ", the answer the rule table gives io_uring [\(expected.origin)] and \(e.interface.rawValue) [\(e.prediction.rule)] alike: it bears the prediction out; the \(e.interface.rawValue) answer itself comes from the rule table"
      } else {
        note += ", as the rule table says for io_uring [\(expected.origin)]; \(e.interface.rawValue) answers otherwise on this kernel, so this does not test the prediction (\(predicted)), which comes from the rule table"
      }
    } else {
      note = "through \(r.interface.rawValue): \(answer)"
      note += agrees ? ", as predicted" : "; predicted \(predicted) [\(e.prediction.rule)]: the kernel disagrees with the rule table"
    }
    return CheckProbe(
      interface: r.interface, outcome: r.outcome, errno: r.errno, expected: expected, agrees: agrees,
      confirms: agrees && (substituteBecause == nil || sameAsPrediction), note: note)
  }

  func isRegularFile(_ path: String) -> Bool {
    guard case .success(let st) = host.kernel.status(path) else { return false }
    return st.type == .regular
  }

  func parent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }
}
