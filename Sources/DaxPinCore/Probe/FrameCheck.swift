import SystemPackage

/// The page frames of a buffer read through the seam (`/proc/self/pagemap`, then the memory
/// block of each frame): before a pin and after it, so a report can say whether the kernel
/// pinned the pages where they were or migrated them first, and whether any stayed in
/// `ZONE_MOVABLE`.
struct FrameReading {
  var frames: [UInt64?]
  /// Per page; nil where the frame is unknown or the kernel has no memory block devices.
  var locations: [FrameLocation?]

  var pages: Int { frames.count }
  var present: Int { frames.filter { $0 != nil }.count }
  var movable: Int { locations.filter { $0?.isMovable == true }.count }
  var first: FrameSample { FrameSample(pfn: frames.first ?? nil, location: locations.first ?? nil) }
  /// The first page outside ZONE_MOVABLE, for a reason.
  var firstNotMovable: FrameSample? {
    guard let i = locations.indices.first(where: { locations[$0]?.isMovable != true }) else { return nil }
    return FrameSample(pfn: frames[i], location: locations[i])
  }

  /// Reads `mapping`'s frames and where they live. A failure to place the frames (no memory
  /// block devices: CONFIG_MEMORY_HOTPLUG off) leaves the locations unknown; a failure to read
  /// pagemap is the caller's to report.
  /// The present frames are placed in one call, in page order (repeats included: the kernel
  /// side looks each memory block up once), and their locations laid back over the pages.
  static func read(_ kernel: any Kernel, _ mapping: Mapping) -> Result<FrameReading, Errno> {
    kernel.pageFrames(mapping).map { frames in
      let present = frames.compactMap { $0 }
      guard !present.isEmpty, case .success(let placed) = kernel.frameLocations(present), placed.count == present.count else {
        return FrameReading(frames: frames, locations: Array(repeating: nil, count: frames.count))
      }
      var next = placed.makeIterator()
      return FrameReading(frames: frames, locations: frames.map { $0 == nil ? nil : next.next() })
    }
  }

  /// Before (self) against `after`: which pages moved and where the first page went.
  func placement(after: FrameReading) -> FramePlacement {
    let moved = zip(frames, after.frames).filter { $0.0 != nil && $0.1 != nil && $0.0 != $0.1 }.count
    return FramePlacement(
      pages: pages, before: first, after: after.first, moved: moved, movableBefore: movable, movableAfter: after.movable)
  }
}
