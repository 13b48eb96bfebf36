/// Reads a cloud-hypervisor command line into a `VMConfig`: `--memory size=,shared=,hugepages=,
/// file=`, `--memory-zone id=,size=,file=,shared=,hugepages=` (each a region; `--memory size=0`
/// then), `--device path=` (VFIO, through the container), `--pmem file=` (classified, but
/// cloud-hypervisor maps only its memory zones for VFIO: a pmem region is not DMA-mapped).
public enum CloudHypervisorConfigReader {
  /// cloud-hypervisor's default `--memory size=`.
  public static let defaultMemorySize: UInt64 = 512 << 20

  public static func read(arguments argv: [String]) throws(CheckProblem) -> VMConfig {
    var config = VMConfig(dialect: .cloudHypervisor)
    var values: [String: [String]] = [:]
    var i = 0
    var option: String?
    while i < argv.count {
      let word = argv[i]
      i += 1
      if word.hasPrefix("-") && !word.hasPrefix("--") {  // -v, -h: flags of their own
        option = nil
        continue
      }
      if word.hasPrefix("--") {
        var name = String(word.dropFirst(2))
        if let eq = name.firstIndex(of: "=") {  // --memory=size=1G
          values[String(name[..<eq]), default: []].append(String(name[name.index(after: eq)...]))
          name = String(name[..<eq])
        }
        option = name
        if values[name] == nil { values[name] = [] }
        continue
      }
      // Options such as --memory-zone, --device and --pmem take several values after one flag.
      if let option { values[option, default: []].append(word) }
    }

    for name in ["memory", "memory-zone", "device", "pmem"] where values[name]?.isEmpty == true {
      throw .malformed("--\(name): requires a value")
    }
    let memory = try list(values["memory"] ?? [], option: "--memory")
    if memory.count > 1 { throw .malformed("--memory: given \(memory.count) times") }
    let m = memory.first ?? [:]
    let memText = "--memory " + (values["memory"]?.first ?? "size=512M")
    let size: UInt64
    if let s = m["size"] {
      guard let b = ByteSize.cloudHypervisor(s) else { throw .malformed("--memory \(values["memory"]![0]): size=\(s) is not a size") }
      size = b
    } else {
      size = defaultMemorySize
    }
    let zones = try list(values["memory-zone"] ?? [], option: "--memory-zone")
    if size > 0 {
      if !zones.isEmpty { throw .malformed("\(memText): size must be 0 when --memory-zone is given") }
      config.regions.append(try region(m, id: "mem", size: size, label: memText, notes: m["size"] == nil ? ["no size=: cloud-hypervisor's default of 512 MiB"] : []))
    }
    var seen: Set<String> = []
    for (n, z) in zones.enumerated() {
      let text = values["memory-zone"]![n]
      guard let id = z["id"] else { throw .malformed("--memory-zone \(text): id= missing") }
      let label = "--memory-zone id=\(id)"
      guard seen.insert(id).inserted else { throw .malformed("\(label): id=\(id) given twice") }
      guard let s = z["size"] else { throw .malformed("\(label): size= missing") }
      guard let b = ByteSize.cloudHypervisor(s), b > 0 else { throw .malformed("\(label): size=\(s) is not a size") }
      config.regions.append(try region(z, id: id, size: b, label: label, notes: []))
    }
    if config.regions.isEmpty { throw .malformed("\(memText): size=0 and no --memory-zone: the guest has no RAM") }

    for (n, text) in (values["pmem"] ?? []).enumerated() {
      let p = try list([text], option: "--pmem")[0]
      let label = "--pmem \(text)"
      guard let file = p["file"] else { throw .malformed("\(label): file= missing") }
      var size: UInt64 = 0
      if let s = p["size"] {
        guard let b = ByteSize.cloudHypervisor(s) else { throw .malformed("\(label): size=\(s) is not a size") }
        size = b
      }
      let discard = try bool(p, "discard_writes", label: label) ?? false
      config.regions.append(
        MemoryRegion(
          id: p["id"] ?? "pmem\(n)", role: .virtioPmem, declaredBy: "--pmem file=\(file)", size: size, backing: .file(path: file), shared: !discard,
          dmaMapped: false,
          notes: [
            "cloud-hypervisor maps only its memory zones into the IOMMU for VFIO devices: this region is not long-term pinned"
          ] + (size == 0 ? ["no size=: the file's own size"] : [])))
    }

    for text in values["device"] ?? [] {
      let d = try list([text], option: "--device")[0]
      guard let path = d["path"] else { throw .malformed("--device \(text): path= missing") }
      let address = path.split(separator: "/").last.map(String.init) ?? path
      config.devices.append(
        PassthroughDevice(
          address: address, path: .container, mdev: path.contains("/mdev") || QEMUConfigReader.isUUID(address), declaredBy: "--device path=\(path)"))
    }
    return config
  }

  /// One `--memory` or `--memory-zone` value as a region.
  static func region(_ o: [String: String], id: String, size: UInt64, label: String, notes: [String]) throws(CheckProblem) -> MemoryRegion {
    let shared = try bool(o, "shared", label: label) ?? false
    let hugepages = try bool(o, "hugepages", label: label) ?? false
    let prefault = try bool(o, "prefault", label: label) ?? false
    var notes = notes
    let backing: RegionBacking
    if let file = o["file"] {
      backing = .file(path: file)
      if hugepages { notes.append("hugepages=on is ignored with file=: the file's filesystem decides") }
    } else if shared || hugepages {
      // cloud-hypervisor makes shared or hugepage memory with memfd_create (MFD_HUGETLB).
      backing = .memfd(hugetlb: hugepages)
    } else {
      backing = .anonymous
    }
    if let s = o["hugepage_size"], ByteSize.cloudHypervisor(s) == nil { throw .malformed("\(label): hugepage_size=\(s) is not a size") }
    return MemoryRegion(id: id, role: .ram, declaredBy: label, size: size, backing: backing, shared: shared, prealloc: prefault, notes: notes)
  }

  static func bool(_ o: [String: String], _ key: String, label: String) throws(CheckProblem) -> Bool? {
    guard let v = o[key] else { return nil }
    switch v {
    case "on", "true": return true
    case "off", "false": return false
    default: throw .malformed("\(label): \(key)=\(v) is not on or off")
    }
  }

  /// cloud-hypervisor's option syntax: `key=value` pairs separated by commas, where a value in
  /// double quotes or square brackets may hold commas (`"a,b"`, `[1,2]`).
  static func list(_ texts: [String], option: String) throws(CheckProblem) -> [[String: String]] {
    var out: [[String: String]] = []
    for text in texts {
      var pairs: [String: String] = [:]
      var segments: [String] = []
      var current = ""
      var quoted = false
      var depth = 0
      for c in text {
        switch c {
        case "\"": quoted.toggle()
        case "[" where !quoted: depth += 1
        case "]" where !quoted: depth -= 1
        case "," where !quoted && depth == 0:
          segments.append(current)
          current = ""
          continue
        default: break
        }
        if c != "\"" { current.append(c) }
      }
      if quoted || depth != 0 { throw .malformed("\(option) \(text): unbalanced quotes or brackets") }
      segments.append(current)
      for s in segments where !s.isEmpty {
        guard let eq = s.firstIndex(of: "="), eq != s.startIndex else { throw .malformed("\(option) \(text): '\(s)' is not key=value") }
        let key = String(s[..<eq])
        if pairs[key] != nil { throw .malformed("\(option) \(text): \(key)= given twice") }
        pairs[key] = String(s[s.index(after: eq)...])
      }
      out.append(pairs)
    }
    return out
  }
}
