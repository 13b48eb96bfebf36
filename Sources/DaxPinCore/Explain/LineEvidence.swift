/// What the failed range is.
public enum FailedMemory: String, Codable, Sendable {
  /// Guest RAM: a region such as `pc.ram`, `ram-node0`, `dimm1`, or `mem-path`/`memory-backend`
  /// in the line.
  case guestRAM = "guest-ram"
  /// Device memory: a region `… BAR n mmaps[m]`, QEMU's `PCI peer-to-peer transactions on BARs`
  /// or `warning: vfio_container_dma_map` (QEMU warns only for RAM devices), an SPDK CMB,
  /// `ram_device`, `mmio`, `pfnmap`.
  case mmio
  /// Only QEMU's guess: `IOMMU_IOAS_MAP failed: Bad address, PCI BAR?` (added to every EFAULT).
  case mmioGuess = "mmio-guess"
}

/// What a recognised line says about the memory that failed, besides its errno: the QEMU region,
/// guest RAM or a BAR, DAX, and what backs the memory. Each fact comes from words in the line;
/// none is guessed from the errno.
struct LineEvidence: Equatable {
  typealias Memory = FailedMemory

  enum DAX: Equatable {
    /// A file on a DAX mount: `fsdax`, `dax=always`, `-o dax`, …
    case fsdax
    /// `/dev/daxX.Y`, `devdax`, `device-dax`, `dax_mmap`, `daxctl`.
    case devdax
    /// pmem or DAX without saying which: `pmem`, `nvdimm`, `persistent memory`, the word `dax`.
    case pmem
  }

  enum Backing: Equatable {
    /// shmem or hugetlbfs, which need no dirty tracking: memfd, /dev/shm, tmpfs, hugepages.
    case shmem
    /// A file named by `mem-path` or `memory-backend-file` that is not shmem, hugetlbfs or DAX.
    case pageCacheFile
  }

  var region: String?
  var memory: Memory?
  /// The words that made `memory` what it is: `region name`, `IOVA 0x100000000, x86 RAM above 4 GiB`.
  var memoryEvidence: String?
  var dax: DAX?
  var backing: Backing?
  /// `/dev/daxX.Y` as the line spells it.
  var devdaxPath: String?
  /// Which check of device-DAX's mmap the kernel's own line names: `attempted private mapping`
  /// (true) or `unaligned vma` (false).
  var devdaxPrivateMapping: Bool?

  init(_ line: ScannedLine) {
    region = Self.region(line)
    dax = Self.dax(line)
    backing = Self.backing(line, dax: dax)
    devdaxPath = Self.devdaxPath(line)
    devdaxPrivateMapping = line.hasAny(.daxFailPrivate) ? true : line.hasAny(.daxFailUnaligned) ? false : nil
    let m = Self.memory(line, region: region)
    memory = m?.0
    memoryEvidence = m?.1
  }

  /// QEMU's `Region NAME: ` (error_prepend in the memory listener), capitalised as QEMU writes it.
  static func region(_ line: ScannedLine) -> String? {
    for i in line.positions(of: "region ") where line.bytes[i] == 0x52 && !line.isAlnum(at: i - 1) {
      let start = i + 7
      var j = start
      let limit = min(line.bytes.count, start + ExplainLimits.regionNameBytes)
      while j + 1 < limit {
        if line.bytes[j] == 0x3A && line.bytes[j + 1] == 0x20 { break }
        j += 1
      }
      guard j + 1 < limit, j > start else { continue }
      return line.text(start..<j)
    }
    return nil
  }

  /// Guest RAM or device memory, and the words that say so.
  static func memory(_ line: ScannedLine, region: String?) -> (Memory, String)? {
    if let region {
      let name = ScannedLine(Array(region.utf8))
      return isBAR(name) || name.has(.mmaps) ? (.mmio, "region name") : (.guestRAM, "region name")
    }
    let mmio: [(Needle, String)] = [
      (.barPeerToPeer, "PCI peer-to-peer transactions on BARs"), (.warningContainerDmaMap, "a warning: QEMU warns only for RAM devices"),
      (.warningDmaMap, "a warning: QEMU warns only for RAM devices"), (.mmaps, "mmaps["), (.ramDevice, "ram_device"),
      (.mmio, "MMIO"), (.pfnmap, "PFNMAP"),
    ]
    if let hit = mmio.first(where: { line.has($0.0) }) { return (.mmio, hit.1) }
    if isBAR(line) { return (.mmio, "BAR n") }
    if cmb(line) { return (.mmio, "CMB, an NVMe BAR") }
    let ram: [(Needle, String)] = [
      (.pcRam, "pc.ram"), (.ramNode, "ram-node"), (.dimm, "dimm"), (.memPath, "mem-path"), (.memoryBackend, "memory-backend"),
      (.guestRAM, "guest RAM"), (.memdev, "memdev"),
    ]
    if let hit = ram.first(where: { line.has($0.0) }) { return (.guestRAM, hit.1) }
    if let iova = qemuIOVA(line), let start = ramStarts[iova] { return (.guestRAM, "IOVA 0x\(String(iova, radix: 16)), \(start)") }
    if line.has(.pciBarQuestion) { return (.mmioGuess, "PCI BAR?, QEMU's guess on every EFAULT") }
    return nil
  }

  /// Where QEMU's machines start guest RAM: a DMA map at one of these IOVAs is RAM, not a BAR.
  static let ramStarts: [UInt64: String] = [
    0x0: "x86 RAM below 640 KiB", 0xC0000: "x86 RAM above the VGA hole", 0x100000: "x86 RAM above 1 MiB",
    0x1_0000_0000: "x86 RAM above 4 GiB", 0x4000_0000: "the start of RAM on Arm virt",
  ]

  /// The IOVA of QEMU's `vfio_dma_map(CONTAINER, IOVA, SIZE, VADDR)` or
  /// `vfio_container_dma_map(…)`: the second argument, hexadecimal.
  static func qemuIOVA(_ line: ScannedLine) -> UInt64? {
    guard let start = line.end(.vfioContainerDmaMap) ?? line.end(.vfioDmaMap) else { return nil }
    var i = start
    var arguments: [UInt64?] = []
    var current: [UInt8] = []
    while i < line.bytes.count, i - start < 160, arguments.count < 2 {
      let b = line.lower[i]
      if b == 0x2C || b == 0x29 {
        let text = String(decoding: current, as: UTF8.self).trimmingCharacters(in: " ")
        arguments.append(text.hasPrefix("0x") && text.count <= 18 ? UInt64(text.dropFirst(2), radix: 16) : nil)
        current = []
        if b == 0x29 { break }
      } else {
        current.append(b)
      }
      i += 1
    }
    return arguments.count == 2 ? arguments[1] : nil
  }

  /// `BAR 2`, `bar0`, `BAR4` as a word.
  static func isBAR(_ line: ScannedLine) -> Bool {
    line.positions(of: "bar").contains { i in
      guard !line.isAlnum(at: i - 1) else { return false }
      let d = line.isDigit(at: i + 3) ? i + 3 : (line.bytes.count > i + 3 && line.bytes[i + 3] == 0x20 && line.isDigit(at: i + 4) ? i + 4 : -1)
      return d >= 0 && !line.isAlnum(at: d + 1)
    }
  }

  /// An NVMe controller memory buffer (a BAR) in an SPDK function name or message: `_cmb`, `cmb`.
  static func cmb(_ line: ScannedLine) -> Bool {
    line.positions(of: "cmb").contains { i in
      (!line.isAlnum(at: i - 1) || line.lower[i - 1] == 0x5F) && !line.isLetter(at: i + 3)
    }
  }

  static func dax(_ line: ScannedLine) -> DAX? {
    let devdax = line.hasAny(.devdaxWord, .deviceDax, .deviceDaxUnderscore, .daxMmap, .daxctl)
      || line.index(.devDax).map { line.isDigit(at: $0 + 8) } == true
    let fsdax = line.hasAny(.fsdaxWord, .fsDaxHyphen, .filesystemDax, .daxAlways, .daxInode, .mountDax)
    switch (devdax, fsdax) {
    case (true, false): return .devdax
    case (false, true): return .fsdax
    case (true, true): return .pmem
    default: break
    }
    if line.hasAny(.pmem, .nvdimm, .persistentMemory) { return .pmem }
    let daxWord = line.positions(of: "dax").contains { !line.isAlnum(at: $0 - 1) && !line.isLetter(at: $0 + 3) }
    return daxWord ? .pmem : nil
  }

  static func backing(_ line: ScannedLine, dax: DAX?) -> Backing? {
    if line.hasAny(.memoryBackendMemfd, .memfd, .devShm, .devHugepages, .hugetlbfs, .hugepages, .tmpfs) { return .shmem }
    if dax == nil, line.hasAny(.memoryBackendFile, .memPath) { return .pageCacheFile }
    return nil
  }

  /// `/dev/daxN.M` (digits, a dot, digits) as written in the line.
  static func devdaxPath(_ line: ScannedLine) -> String? {
    guard let i = line.index(.devDax) else { return nil }
    var j = i + 8
    let digits1 = j
    while line.isDigit(at: j), j - digits1 < 6 { j += 1 }
    guard j > digits1, j < line.bytes.count, line.bytes[j] == 0x2E else { return nil }
    j += 1
    let digits2 = j
    while line.isDigit(at: j), j - digits2 < 6 { j += 1 }
    guard j > digits2, !line.isAlnum(at: j) else { return nil }
    return line.text(i..<j)
  }
}
