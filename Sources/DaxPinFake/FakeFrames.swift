import DaxPinCore
import SystemPackage

/// Page frames of the simulated host, laid out as in the lab guest: boot memory in ZONE_NORMAL of
/// node 0, and (with a devdax region, in the pmem modes whose guest has a kmem region) the fourth
/// pmem region onlined as System RAM in ZONE_MOVABLE of its own node (`LabLayout.kmemNode(_:)`). Pages are given frames when faulted —
/// from the kmem node only when bound to it — and a FOLL_LONGTERM pin moves movable pages to
/// node 0's ZONE_NORMAL on kernels with "mm/gup: migrate pinned pages out of movable zone" (5.13).
extension FakeState {
  /// Boot memory frames handed out for ZONE_NORMAL pages (1 GiB .. 2 GiB of the guest's RAM).
  static let normalFrames: Range<UInt64> = 0x4_0000..<0x8_0000
  /// The lab's fourth memmap region (5888 MiB, 512 MiB): ZONE_MOVABLE once converted.
  static let movableFrames: Range<UInt64> = 0x17_0000..<0x19_0000
  /// ZONE_DEVICE frames of the fsdax and devdax regions: in no memory block.
  static let deviceFrames: UInt64 = 0x10_0000

  /// The kmem node, where this host has one: a devdax region and a pmem mode with a kmem region.
  var kmemNode: Int? { topology.hasDevdax ? layout.kmemNode(pmem) : nil }

  /// A frame from `range`, round-robin (the fake never runs out).
  mutating func takeFrame(movable: Bool) -> UInt64 {
    let range = movable ? Self.movableFrames : Self.normalFrames
    let n = movable ? nextMovableFrame : nextNormalFrame
    if movable { nextMovableFrame += 1 } else { nextNormalFrame += 1 }
    return range.lowerBound + n % UInt64(range.count)
  }

  /// Frames for a mapping being faulted in: device frames for DAX, ZONE_NORMAL for hugetlb (its
  /// pool was reserved at boot), ZONE_MOVABLE first for everything else.
  mutating func frames(for m: FakeMapping) -> [UInt64] {
    let pages = m.mapping.length / 4096
    switch m.backing {
    case .fsdax, .devdax:
      return (0..<pages).map { Self.deviceFrames + UInt64($0) }
    case .hugetlb:
      return (0..<pages).map { _ in takeFrame(movable: false) }
    case .anon, .shmem, .pagecache:
      let movable = kmemNode != nil && m.node == kmemNode
      return (0..<pages).map { _ in takeFrame(movable: movable) }
    }
  }

  /// After a successful FOLL_LONGTERM pin of `[address, address + length)`: movable pages move
  /// to ZONE_NORMAL where the profile's kernel migrates them.
  mutating func migrateForLongtermPin(_ address: UInt64, _ length: UInt64) {
    guard profile.migratesMovableOnLongtermPin, var fm = covering(address, length) else { return }
    fm.frames = fm.frames.map { Self.movableFrames.contains($0) ? takeFrame(movable: false) : $0 }
    mappings[fm.mapping.address] = fm
  }

  func location(_ pfn: UInt64) -> FrameLocation {
    if Self.movableFrames.contains(pfn), let kmemNode { return FrameLocation(node: kmemNode, zone: "Movable") }
    if Self.normalFrames.contains(pfn) { return FrameLocation(node: 0, zone: "Normal") }
    return FrameLocation(node: nil, zone: nil)
  }

  mutating func bind(_ m: Mapping, node: Int) -> Result<Void, Errno> {
    guard mappings[m.address] != nil else { return .failure(.noMemory) }  // mbind of an unmapped range: EFAULT/ENOMEM
    guard node == 0 || node == kmemNode else { return .failure(.invalidArgument) }
    mappings[m.address]!.node = node
    return .success(())
  }

  func pageFrames(_ m: Mapping) -> Result<[UInt64?], Errno> {
    guard let fm = mappings[m.address] else { return .success(Array(repeating: nil, count: m.length / 4096)) }
    return .success((0..<(m.length / 4096)).map { i in fm.faulted && i < fm.frames.count ? fm.frames[i] : nil })
  }

  /// vmsplice of the first pages into a pipe, then ftruncate(0) on another thread: a DAX file
  /// waits for the pipe's references where the profile has dax_layout_busy_page.
  mutating func truncateUnderHeldPages(_ fd: Int32, _ m: Mapping, heldBytes: Int) -> Result<HeldTruncate, Errno> {
    guard let fm = mappings[m.address] else { return .failure(.badAddress) }  // vmsplice of unmapped memory
    guard case .file(let path) = fds[fd] else { return .failure(fds[fd] == nil ? .badFileDescriptor : .invalidArgument) }
    guard case .file(_, let flag) = nodes[path]?.kind else { return .failure(.invalidArgument) }
    let held = min(heldBytes, fm.mapping.length, 64 << 10)
    nodes[path]!.kind = .file(size: 0, daxFlag: flag)
    let waits = fm.backing == .fsdax && profile.waitsForHeldDAXPages
    return .success(HeldTruncate(heldBytes: held, returnedWhileHeld: !waits, returnedAfterRelease: true, releaseToReturnMs: waits ? 0 : nil))
  }
}
