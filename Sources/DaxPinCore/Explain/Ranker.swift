import SystemPackage

/// One candidate cause of a recognised line, ranked: the kernel rule, whether it holds on the
/// kernel the line is judged against, the fix, and the daxpin command that shows it.
public struct RankedCause: Codable, Sendable, Equatable {
  public var cause: PinCause
  public var confidence: Confidence
  /// The errno the rule answers with.
  public var errnoName: String?
  public var rule: String
  /// The rule's name (the rule table's origin where it has one).
  public var origin: String?
  /// Whether the rule holds on the kernel the line is judged against; omitted when that cannot
  /// be told (an unparsable release, a backported rule, `unknown`).
  public var appliesHere: Bool?
  /// The kernels the rule holds on, in words.
  public var kernels: String?
  public var fix: String
  /// The daxpin command that shows the rule on this host.
  public var command: String?
  /// 0–100, the ranking's own measure; `confidence` is its reading. Not in the JSON.
  public var score: Int

  enum CodingKeys: String, CodingKey {
    case cause, confidence, rule, origin, kernels, fix, command
    case errnoName = "errno_name"
    case appliesHere = "applies_here"
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    cause = try c.decode(PinCause.self, forKey: .cause)
    confidence = try c.decode(Confidence.self, forKey: .confidence)
    errnoName = try c.decodeIfPresent(String.self, forKey: .errnoName)
    rule = try c.decode(String.self, forKey: .rule)
    origin = try c.decodeIfPresent(String.self, forKey: .origin)
    appliesHere = try c.decodeIfPresent(Bool.self, forKey: .appliesHere)
    kernels = try c.decodeIfPresent(String.self, forKey: .kernels)
    fix = try c.decode(String.self, forKey: .fix)
    command = try c.decodeIfPresent(String.self, forKey: .command)
    score = 0
  }

  init(
    cause: PinCause, score: Int, errno: Errno?, rule: String, origin: String?, appliesHere: Bool?, fix: String,
    command: String?
  ) {
    self.cause = cause
    self.score = score
    self.confidence = Confidence(score: score)
    self.errnoName = errno?.name
    self.rule = rule
    self.origin = origin
    self.appliesHere = appliesHere
    self.kernels = cause.kernels
    self.fix = fix
    self.command = command
  }
}

/// What an `unknown` candidate stands for: an answer no rule of the vocabulary gives, named so the
/// reader still learns what the errno means on this path.
enum UnknownReading: Equatable {
  /// EINVAL from a DMA map of ordinary memory: the IOVA, not the pages.
  case iovaInvalid
  /// A BAR whose guest address the IOMMU cannot reach.
  case barOutsideIOMMU
  /// EFAULT for guest RAM or a buffer that could not be faulted in.
  case notFaultable
  /// io_uring pins every buffer for writing.
  case ioUringReadOnly
  /// QEMU's mmap of the backing file failed, before any pin.
  case mmapRefused(Errno)
  /// An errno no pinning rule daxpin knows answers with.
  case otherErrno(Errno)

  var rule: String {
    switch self {
    case .iovaInvalid:
      "EINVAL from a DMA map of ordinary memory is about the IOVA, not the pages: outside the IOMMU's apertures, inside a reserved range (the HyperTransport hole below 1 TiB on AMD hosts), or not aligned to the IOMMU page size."
    case .barOutsideIOMMU:
      "A BAR mapping also fails when the BAR's guest address lies beyond the IOMMU's address width (39 bits on some consumer CPUs and on a vIOMMU with default settings)."
    case .notFaultable:
      "A pin fails with EFAULT when the pages cannot be faulted in: memory registered with userfaultfd (postcopy migration, a lazy snapshot restore), PROT_NONE, or a range that is no longer mapped."
    case .ioUringReadOnly:
      "io_uring pins every fixed buffer for writing (FOLL_WRITE): a buffer mapped PROT_READ is EFAULT on every kernel."
    case .mmapRefused(let e):
      "QEMU's mmap of the backing file failed with \(e.name) before anything was pinned: ENOMEM is a hugetlb pool without enough free pages or a memory limit, EINVAL a size or alignment the file refuses, EACCES or EPERM the file's permissions."
    case .otherErrno(let e):
      "\(e.name) is not the answer of a pinning rule daxpin knows: VFIO answers EEXIST for an IOVA range already mapped, EPERM and EBUSY for group and container state; iommufd has no dma_entry_limit."
    }
  }

  var origin: String? {
    self == .ioUringReadOnly ? "io_uring-write-pin" : nil
  }

  /// The errno the reading is about.
  var errno: Errno {
    switch self {
    case .iovaInvalid, .barOutsideIOMMU: .invalidArgument
    case .notFaultable, .ioUringReadOnly: .badAddress
    case .mmapRefused(let e), .otherErrno(let e): e
    }
  }

  var fix: String {
    switch self {
    case .iovaInvalid:
      "Compare the IOVA with /sys/kernel/iommu_groups/GROUP/reserved_regions and the IOMMU's address width; QEMU 7.1 and later place guest RAM above the AMD hole."
    case .barOutsideIOMMU:
      "Ignore it when the guest needs no peer-to-peer DMA (QEMU goes on); otherwise keep the guest's 64-bit PCI hole inside the IOMMU's width (QEMU `-cpu …,host-phys-bits-limit=`, intel-iommu `aw-bits=`)."
    case .notFaultable:
      "Pin only populated memory: no postcopy migration with VFIO, and restore snapshots fully before devices are attached; /proc/PID/smaps shows the VMA."
    case .ioUringReadOnly:
      "Register buffers mapped PROT_READ|PROT_WRITE."
    case .mmapRefused:
      "Check the backend's mem-path, size, align and share options against the file: free pages in /sys/kernel/mm/hugepages/*/free_hugepages for hugetlbfs, the align in `daxctl list` for device-DAX."
    case .otherErrno:
      "Read the errno together with the lines around it; `daxpin probe` shows what this kernel pins."
    }
  }

  var command: String? {
    switch self {
    case .ioUringReadOnly: "daxpin probe --interface io_uring --kind anon --access ro"
    case .mmapRefused: "daxpin inventory"
    default: nil
    }
  }
}

/// Ranks the candidate causes of a recognised line from its errno, its words and the kernel
/// version it is judged against. An errno alone is ambiguous (EFAULT: a shared page-cache file
/// from 6.5, or a BAR); the words decide between them where they can, the kernel version drops
/// rules that do not hold there to `low`, and `distinguish` says, one sentence per ambiguity,
/// how to tell the candidates apart.
struct Ranker {
  var kernel: KernelVersion?

  /// A candidate before it is ranked.
  struct Candidate {
    var cause: PinCause
    var score: Int
    var reading: UnknownReading? = nil
  }

  func rank(_ r: Recognition, _ e: LineEvidence) -> (causes: [RankedCause], distinguish: [String]) {
    let path = r.recogniser.path
    var c: [Candidate] = []
    var tell: [String] = []
    func add(_ cause: PinCause, _ score: Int) { c.append(Candidate(cause: cause, score: score)) }
    func unknown(_ reading: UnknownReading, _ score: Int) { c.append(Candidate(cause: .unknown, score: score, reading: reading)) }
    let what = e.region.map { "`\($0.capped(toBytes: 64).withVisibleControls)`" } ?? "it"

    switch r.effectiveErrno {
    case .notSupported?:
      if path == .ioUring {
        if PinCause.ioUringFileBacked.applies(on: kernel) == false {
          add(.fsdaxLongtermPin, 85)
          add(.ioUringFileBacked, 10)
        } else if e.dax == .fsdax || e.dax == .pmem {
          add(.fsdaxLongtermPin, 80)
          add(.ioUringFileBacked, 45)
        } else if e.dax == .devdax || e.backing == .pageCacheFile {
          add(.ioUringFileBacked, 85)
          add(.fsdaxLongtermPin, 15)
        } else {
          add(.ioUringFileBacked, 60)
          add(.fsdaxLongtermPin, 50)
        }
        tell.append(
          "Before 6.5 io_uring refuses any page-cache or device-DAX buffer itself, while fsdax-longterm-pin refuses only a file on a DAX mount: /proc/PID/maps names the file behind the buffer, and `daxpin probe --interface io_uring --kind pagecache-shared --kind fsdax-ext4-shared` shows both answers here.")
      } else {
        add(.fsdaxLongtermPin, 85)
      }

    case .badAddress?:
      let writeback = PinCause.fileWritebackPin.applies(on: kernel)
      // io_uring and RDMA register a process's own buffers: memory, unless the line says BAR.
      let memory = e.memory ?? (path == .ioUring || path == .rdma ? .guestRAM : nil)
      switch memory {
      case .mmio?:
        add(.pfnmapNoStructPage, 85)
        add(.fileWritebackPin, 15)
      case .guestRAM?:
        // io_uring's own EFAULT (a read-only buffer) stands in for "could not be faulted".
        let ring = path == .ioUring
        add(.pfnmapNoStructPage, 10)
        if e.backing == .shmem {
          add(.fileWritebackPin, 10)
          if !ring { unknown(.notFaultable, 55) }
        } else {
          switch writeback {
          case true?:
            // Guest RAM the line names is likelier a file than a buffer assumed to be memory.
            add(.fileWritebackPin, e.backing == .pageCacheFile ? 85 : e.memory == nil ? 55 : 70)
            if !ring { unknown(.notFaultable, 25) }
          case nil: add(.fileWritebackPin, 50)
          case false?:
            add(.fileWritebackPin, 10)
            if !ring { unknown(.notFaultable, 50) }
          }
        }
        if ring {
          unknown(.ioUringReadOnly, writeback == true && e.backing != .shmem ? 45 : 60)
          tell.append(
            "io_uring pins every buffer for writing: a PROT_READ buffer is EFAULT on every kernel, a writable shared page-cache buffer only from 6.5; `daxpin probe --interface io_uring --kind pagecache-shared --kind anon` shows both here.")
        }
      case .mmioGuess?:
        add(.pfnmapNoStructPage, 55)
        add(.fileWritebackPin, writeback == true ? 45 : writeback == nil ? 40 : 10)
      case nil:
        switch writeback {
        case true?:
          add(.fileWritebackPin, 50)
          add(.pfnmapNoStructPage, 45)
        case nil:
          add(.pfnmapNoStructPage, 45)
          add(.fileWritebackPin, 40)
        case false?:
          add(.pfnmapNoStructPage, 55)
          add(.fileWritebackPin, 10)
          unknown(.notFaultable, 30)
        }
      }
      switch memory {
      case nil, .mmioGuess?:
        tell.append(
          "EFAULT comes from guest RAM on a shared page-cache file (6.5 and later) or from a device BAR: QEMU names a BAR's region `0000:xx:yy.z BAR n mmaps[m]` and follows its failed map with `PCI peer-to-peer transactions on BARs are not supported`; run `daxpin check qemu --pid PID`, or read QEMU's `-object memory-backend-*` options, to see what backs guest RAM.")
      case .guestRAM? where path != .ioUring:
        tell.append(
          "For guest RAM, EFAULT is a shared page-cache file (6.5 and later) or pages that could not be faulted in: run `daxpin check qemu --pid PID`, or read QEMU's `-object memory-backend-*` options, to see what backs \(what): a memory-backend-file on ext4 or xfs is page cache; memfd, /dev/shm and hugepages are not.")
      default: break
      }

    case .noMemory?:
      if r.recogniser == .qemuBackingStore {
        unknown(.mmapRefused(.noMemory), 70)
        add(.memlockLimit, 15)
      } else {
        add(.memlockLimit, r.recogniser == .kernelMemlock ? 95 : 85)
      }

    case .noSpace?:
      if path == .iommufd || path == .ioUring || path == .rdma {
        unknown(.otherErrno(.noSpace), 45)
        add(.dmaEntryLimit, 25)
      } else {
        add(.dmaEntryLimit, r.recogniser == .qemuRunningOutOfDMAMappings ? 60 : 90)
      }

    case .invalidArgument?:
      if r.recogniser == .kernelDevdaxCheckVMA, let isPrivate = e.devdaxPrivateMapping {
        add(isPrivate ? .devdaxPrivateMapping : .devdaxAlignment, 95)
      } else if e.dax == .devdax {
        // memory-backend-file maps MAP_PRIVATE unless share=on: a common way to the same EINVAL.
        add(.devdaxAlignment, 85)
        add(.devdaxPrivateMapping, 60)
        unknown(r.recogniser == .qemuBackingStore ? .mmapRefused(.invalidArgument) : .iovaInvalid, 20)
      } else if e.memory == .mmio || e.memory == .mmioGuess {
        unknown(.barOutsideIOMMU, 75)
      } else if r.recogniser == .qemuBackingStore {
        if e.dax == .pmem {
          add(.devdaxAlignment, 70)
          unknown(.mmapRefused(.invalidArgument), 30)
        } else {
          unknown(.mmapRefused(.invalidArgument), 55)
          add(.devdaxAlignment, 30)
        }
      } else if e.dax != nil {
        add(.devdaxAlignment, 50)
        unknown(.iovaInvalid, 45)
      } else {
        unknown(.iovaInvalid, 60)
        add(.devdaxAlignment, 25)
      }
      if c.count > 1 {
        tell.append(
          "EINVAL from device-DAX is an unaligned mapping (`daxctl list` shows the device's align) or a private one (QEMU's share=off, memory-backend-file's default): the kernel's own line says which, `dax_mmap: fail, unaligned vma` or `fail, attempted private mapping`; from ordinary memory it is an IOVA the IOMMU cannot map (compare it with /sys/kernel/iommu_groups/*/reserved_regions).")
      }

    case let other?:
      unknown(.otherErrno(other), 50)

    case nil:
      if e.memory == .mmio {
        add(.pfnmapNoStructPage, 60)
        unknown(.barOutsideIOMMU, 40)
      } else if e.dax == .fsdax || e.dax == .pmem {
        add(.fsdaxLongtermPin, 70)
        add(.memlockLimit, 20)
      } else if e.dax == .devdax {
        add(.devdaxAlignment, 45)
        add(.memlockLimit, 20)
      } else {
        add(.memlockLimit, 35)
        add(.fsdaxLongtermPin, 30)
        add(.fileWritebackPin, 25)
        add(.pfnmapNoStructPage, e.memory == .mmioGuess ? 45 : 20)
      }
      tell.append(
        "The line carries no errno: the kernel's answer is on a line near it (QEMU's `= -N (…)`, the caller's strerror, or dmesg), and explaining that line ranks the causes by it.")
    }

    let ranked = c.map { cand -> RankedCause in
      let applies = cand.cause.applies(on: kernel)
      // A rule that does not hold on this kernel is kept for logs from other hosts, but low.
      let score = applies == false ? min(cand.score, 15) : cand.score
      if let reading = cand.reading {
        return RankedCause(
          cause: .unknown, score: score, errno: reading.errno, rule: reading.rule, origin: reading.origin, appliesHere: nil, fix: reading.fix,
          command: reading.command)
      }
      return RankedCause(
        cause: cand.cause, score: score, errno: cand.cause.errno, rule: cand.cause.rule, origin: cand.cause.origin, appliesHere: applies,
        fix: cand.cause.fix, command: command(cand.cause, path: path, evidence: e))
    }
    // Stable: by score, then the vocabulary's order.
    let sorted = ranked.enumerated().sorted { a, b in
      a.element.score != b.element.score ? a.element.score > b.element.score
        : a.element.cause != b.element.cause ? a.element.cause < b.element.cause : a.offset < b.offset
    }.map(\.element)
    return (sorted, tell)
  }

  /// The daxpin command that shows `cause` on this host, through the line's pinning path.
  func command(_ cause: PinCause, path: PinPath?, evidence: LineEvidence) -> String? {
    let interface = (path?.probeInterface ?? .vfioType1v2).rawValue
    switch cause {
    case .fsdaxLongtermPin:
      return "daxpin probe --interface \(interface) --kind fsdax-ext4-shared --kind fsdax-xfs-shared --access rw"
    case .fileWritebackPin:
      return "daxpin probe --interface \(interface) --kind pagecache-shared --access rw"
    case .ioUringFileBacked:
      return "daxpin probe --interface io_uring --kind pagecache-shared --kind devdax --access rw"
    case .memlockLimit, .dmaEntryLimit:
      return "daxpin inventory"
    case .devdaxAlignment, .devdaxPrivateMapping:
      if let dev = evidence.devdaxPath {
        return "daxpin probe --interface vfio-type1v2 --kind devdax --devdax \(dev) --access rw"
      }
      return "daxpin inventory"
    case .pfnmapNoStructPage, .unknown:
      return nil
    }
  }
}
