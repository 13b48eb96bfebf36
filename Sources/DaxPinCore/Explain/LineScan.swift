import SystemPackage

/// The fixed strings the recognisers and the evidence look for, lowercase (lines are matched
/// ASCII-case-insensitively). Each is found in one pass over the line (`ScannedLine`).
enum Needle: Int, CaseIterable {
  // Recogniser anchors.
  case vfioDmaMap, vfioContainerDmaMap, vfioMapDMA, ioasMap, backingStore, barPeerToPeer
  case dmaMappingFailed, runningOutOfDMAMappings, listenerInitFailed, setupContainer
  case vfioDmaMapCH, iommuDmaMapCH, spdkMemRegister, spdkDMAMapping, ibvRegMR, registeringMemory
  case umemGetFailed, ioUringRegisterBuffers, ioringRegisterBuffers, rlimitMemlock, exceeded
  case dmaEntryLimit, daxFailPrivate, daxFailUnaligned
  // Failure words.
  case fail, error, unable, cannot, couldNot, couldnt, notSupported
  // Memory: MMIO.
  case pciBarQuestion, warningContainerDmaMap, warningDmaMap, mmaps, cmb, ramDevice, mmio, pfnmap
  // Memory: guest RAM.
  case pcRam, ramNode, dimm, memPath, memoryBackend, guestRAM, memdev
  // DAX.
  case devDax, devdaxWord, deviceDax, deviceDaxUnderscore, daxMmap, daxctl
  case fsdaxWord, fsDaxHyphen, filesystemDax, daxAlways, daxInode, mountDax, pmem, nvdimm, persistentMemory
  // Backing.
  case memoryBackendMemfd, memfd, devShm, devHugepages, hugetlbfs, hugepages, tmpfs, memoryBackendFile

  var text: String {
    switch self {
    case .vfioDmaMap: "vfio_dma_map("
    case .vfioContainerDmaMap: "vfio_container_dma_map("
    case .vfioMapDMA: "vfio_map_dma"
    case .ioasMap: "iommu_ioas_map"
    case .backingStore: "unable to map backing store for guest ram"
    case .barPeerToPeer: "peer-to-peer transactions on bars are not supported"
    case .dmaMappingFailed: "dma mapping failed, unable to continue"
    case .runningOutOfDMAMappings: "possibly running out of dma mappings"
    case .listenerInitFailed: "memory listener initialization failed"
    case .setupContainer: "failed to setup container for group"
    case .vfioDmaMapCH: "vfiodmamap("
    case .iommuDmaMapCH: "iommudmamap("
    case .spdkMemRegister: "spdk_mem_register"
    case .spdkDMAMapping: "cannot set up dma mapping"
    case .ibvRegMR: "ibv_reg_mr"
    case .registeringMemory: "registering memory"
    case .umemGetFailed: "umem get failed"
    case .ioUringRegisterBuffers: "io_uring_register_buffers"
    case .ioringRegisterBuffers: "ioring_register_buffers"
    case .rlimitMemlock: "rlimit_memlock ("
    case .exceeded: "exceeded"
    case .dmaEntryLimit: "dma_entry_limit"
    case .daxFailPrivate: "fail, attempted private mapping"
    case .daxFailUnaligned: "fail, unaligned vma"
    case .fail: "fail"
    case .error: "error"
    case .unable: "unable"
    case .cannot: "cannot"
    case .couldNot: "could not"
    case .couldnt: "couldn't"
    case .notSupported: "not supported"
    case .pciBarQuestion: "pci bar?"
    case .warningContainerDmaMap: "warning: vfio_container_dma_map("
    case .warningDmaMap: "warning: vfio_dma_map("
    case .mmaps: "mmaps["
    case .cmb: "cmb"
    case .ramDevice: "ram_device"
    case .mmio: "mmio"
    case .pfnmap: "pfnmap"
    case .pcRam: "pc.ram"
    case .ramNode: "ram-node"
    case .dimm: "dimm"
    case .memPath: "mem-path"
    case .memoryBackend: "memory-backend"
    case .guestRAM: "guest ram"
    case .memdev: "memdev"
    case .devDax: "/dev/dax"
    case .devdaxWord: "devdax"
    case .deviceDax: "device-dax"
    case .deviceDaxUnderscore: "device_dax"
    case .daxMmap: "dax_mmap"
    case .daxctl: "daxctl"
    case .fsdaxWord: "fsdax"
    case .fsDaxHyphen: "fs-dax"
    case .filesystemDax: "filesystem-dax"
    case .daxAlways: "dax=always"
    case .daxInode: "dax=inode"
    case .mountDax: "-o dax"
    case .pmem: "pmem"
    case .nvdimm: "nvdimm"
    case .persistentMemory: "persistent memory"
    case .memoryBackendMemfd: "memory-backend-memfd"
    case .memfd: "memfd"
    case .devShm: "/dev/shm"
    case .devHugepages: "/dev/hugepages"
    case .hugetlbfs: "hugetlbfs"
    case .hugepages: "hugepages"
    case .tmpfs: "tmpfs"
    case .memoryBackendFile: "memory-backend-file"
    }
  }

  /// Every needle's bytes, end to end (`flat`, from `offsets[k]` for `lengths[k]` bytes), and for
  /// each first byte the needles that start with it (`order[buckets[b]..<buckets[b + 1]]`): one
  /// pass over the line looks at a handful of needles per byte, through flat arrays only.
  static let bytes: [[UInt8]] = allCases.map { Array($0.text.utf8) }
  static let flat: [UInt8] = bytes.flatMap { $0 }
  static let lengths: [Int] = bytes.map(\.count)
  static let offsets: [Int] = bytes.indices.map { k in bytes[..<k].reduce(0) { $0 + $1.count } }
  static let order: [Int] = bytes.indices.sorted { (bytes[$0][0], $0) < (bytes[$1][0], $1) }
  static let buckets: [Int] = (0...256).map { b in order.firstIndex { Int(bytes[$0][0]) >= b } ?? order.count }
}

/// Limits on what is matched.
public enum ExplainLimits {
  /// A longer line is matched (and shown) by its first 64 KiB.
  public static let lineBytes = 64 << 10
  /// The errno is looked for at most this many bytes after the recogniser's anchor.
  static let errnoWindow = 1024
  /// A region name longer than this is not a QEMU region name.
  static let regionNameBytes = 256
}

/// One line prepared for matching: its bytes (at most `ExplainLimits.lineBytes`), an
/// ASCII-lowercased copy, and the first position of every `Needle`, found in one pass.
struct ScannedLine {
  let bytes: [UInt8]
  let lower: [UInt8]
  private let first: [Int]

  init<C: Collection>(_ raw: C) where C.Element == UInt8 {
    bytes = Array(raw.prefix(ExplainLimits.lineBytes))
    let upper = bytes
    lower = [UInt8](unsafeUninitializedCapacity: upper.count) { out, count in
      upper.withUnsafeBufferPointer { src in
        for i in 0..<src.count {
          let c = src[i]
          out[i] = c >= 0x41 && c <= 0x5A ? c | 0x20 : c
        }
      }
      count = upper.count
    }
    var first = [Int](repeating: -1, count: Needle.allCases.count)
    var remaining = first.count
    lower.withUnsafeBufferPointer { s in
      Needle.flat.withUnsafeBufferPointer { flat in
        Needle.order.withUnsafeBufferPointer { order in
          Needle.buckets.withUnsafeBufferPointer { buckets in
            Needle.offsets.withUnsafeBufferPointer { offsets in
              Needle.lengths.withUnsafeBufferPointer { lengths in
                first.withUnsafeMutableBufferPointer { first in
                  let n = s.count
                  var i = 0
                  while i < n && remaining > 0 {
                    let b = Int(s[i])
                    var slot = buckets[b]
                    let end = buckets[b + 1]
                    while slot < end {
                      let k = order[slot]
                      slot += 1
                      let count = lengths[k]
                      guard first[k] < 0, i + count <= n else { continue }
                      let base = offsets[k]
                      var j = 1
                      while j < count && s[i + j] == flat[base + j] { j += 1 }
                      if j == count {
                        first[k] = i
                        remaining -= 1
                      }
                    }
                    i += 1
                  }
                }
              }
            }
          }
        }
      }
    }
    self.first = first
  }

  /// Where `needle` first occurs (an index into `bytes`), or nil.
  func index(_ needle: Needle) -> Int? {
    let i = first[needle.rawValue]
    return i < 0 ? nil : i
  }
  func has(_ needle: Needle) -> Bool { first[needle.rawValue] >= 0 }
  func hasAny(_ needles: Needle...) -> Bool { needles.contains { has($0) } }

  /// The index just past the first occurrence of `needle`.
  func end(_ needle: Needle) -> Int? { index(needle).map { $0 + Needle.bytes[needle.rawValue].count } }

  /// Every position of `word` (lowercase ASCII) in the line. Used for a few short words on
  /// recognised lines only.
  func positions(of word: String) -> [Int] {
    let w = Array(word.utf8)
    guard !w.isEmpty, lower.count >= w.count else { return [] }
    var out: [Int] = []
    lower.withUnsafeBufferPointer { s in
      var i = 0
      while i + w.count <= s.count {
        if s[i] == w[0] {
          var j = 1
          while j < w.count && s[i + j] == w[j] { j += 1 }
          if j == w.count { out.append(i) }
        }
        i += 1
      }
    }
    return out
  }

  func isAlnum(at i: Int) -> Bool {
    guard i >= 0 && i < lower.count else { return false }
    let c = lower[i]
    return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
  }
  func isDigit(at i: Int) -> Bool { i >= 0 && i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
  func isLetter(at i: Int) -> Bool { i >= 0 && i < lower.count && lower[i] >= 0x61 && lower[i] <= 0x7A }

  /// Text taken from the line (lossy UTF-8).
  func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
}

/// Finds the errno a message reports in a stretch of a line: `= -14 (`, `(-95)`, `: -22`,
/// `-EOPNOTSUPP`, `EFAULT`, `Error(14)`, `code: 14`, `error 95`, `errno=12`, or strerror's
/// English text (`Bad address`). The first one wins; numbers must be 1–4095 and at most four
/// digits, so addresses, sizes and dates are never read as errnos.
enum ErrnoToken {
  /// strerror(3) texts, longest first so "no such device or address" wins over "no such device".
  static let strerrors: [([UInt8], CInt)] = [
    ("value too large for defined data type", 75), ("inappropriate ioctl for device", 25),
    ("resource temporarily unavailable", 11), ("numerical result out of range", 34),
    ("no such device or address", 6), ("no such file or directory", 2), ("operation not supported", 95),
    ("operation not permitted", 1), ("function not implemented", 38), ("device or resource busy", 16),
    ("no space left on device", 28), ("cannot allocate memory", 12), ("too many open files", 24),
    ("input/output error", 5), ("permission denied", 13), ("invalid argument", 22), ("no such device", 19),
    ("bad address", 14), ("file exists", 17),
  ].map { (Array($0.0.utf8), $0.1) }

  /// Words after which a positive errno number follows.
  static let numberPrefixes: [[UInt8]] = ["error(", "code: ", "error ", "errno ", "errno=", "errno: ", "err=", "error="]
    .map { Array($0.utf8) }

  static func find(in line: ScannedLine, from start: Int, to end: Int) -> Errno? {
    let s = line.lower
    let end = min(end, s.count)
    var i = max(0, start)
    while i < end {
      let c = s[i]
      // -N, preceded by something that is not part of a word or a number.
      if c == 0x2D, !line.isAlnum(at: i - 1), line.isDigit(at: i + 1), let e = number(line, at: i + 1) {
        return e
      }
      // An errno's symbolic name, upper case as the kernel spells it.
      if line.bytes[i] == 0x45, !line.isAlnum(at: i - 1), let e = symbolic(line, at: i) {
        return e
      }
      if c >= 0x61 && c <= 0x7A, !line.isAlnum(at: i - 1) {
        for p in numberPrefixes where matches(s, p, at: i) {
          if line.isDigit(at: i + p.count), let e = number(line, at: i + p.count) { return e }
        }
        for (text, value) in strerrors where matches(s, text, at: i) && !line.isLetter(at: i + text.count) {
          return Errno(rawValue: value)
        }
      }
      i += 1
    }
    return nil
  }

  static func matches(_ s: [UInt8], _ p: [UInt8], at i: Int) -> Bool {
    guard i + p.count <= s.count else { return false }
    for j in 0..<p.count where s[i + j] != p[j] { return false }
    return true
  }

  /// Digits at `i`: an errno when there are at most four, the value is 1–4095, and no letter,
  /// digit, `.` or `x` follows (`0x…`, `1.5`, `2024-05-14` are not errnos).
  static func number(_ line: ScannedLine, at i: Int) -> Errno? {
    var j = i
    var value: CInt = 0
    while line.isDigit(at: j) {
      if j - i >= 4 { return nil }
      value = value * 10 + CInt(line.bytes[j] - 0x30)
      j += 1
    }
    if line.isAlnum(at: j) || (j < line.bytes.count && line.bytes[j] == 0x2E && line.isDigit(at: j + 1)) { return nil }
    if j < line.bytes.count && line.bytes[j] == 0x2D && line.isDigit(at: j + 1) { return nil }
    return (1...4095).contains(value) ? Errno(rawValue: value) : nil
  }

  /// `E[A-Z]+` at `i` that names an errno (`ENOTSUP` is EOPNOTSUPP on Linux).
  static func symbolic(_ line: ScannedLine, at i: Int) -> Errno? {
    var j = i
    while j < line.bytes.count, j - i < 16, line.bytes[j] >= 0x41 && line.bytes[j] <= 0x5A { j += 1 }
    guard j - i >= 4, !line.isAlnum(at: j) else { return nil }
    let name = line.text(i..<j)
    if name == "ENOTSUP" { return .notSupported }
    return Errno(name: name)
  }
}
