import CZlib

/// gunzip in memory (zlib), for console sections the guest sends gzipped.
enum Gzip {
  /// The decompressed bytes of a gzip stream, nil when it is not one or is cut short; at most
  /// `limit` bytes.
  static func decompress(_ input: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
    guard !input.isEmpty else { return nil }
    var stream = z_stream()
    // 16 + 15: a gzip header, the largest window.
    guard inflateInit2_(&stream, 16 + 15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
    defer { inflateEnd(&stream) }
    var output: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var source = input
    return source.withUnsafeMutableBufferPointer { src -> [UInt8]? in
      stream.next_in = src.baseAddress
      stream.avail_in = UInt32(src.count)
      while true {
        let (rc, produced) = chunk.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
          stream.next_out = out.baseAddress
          stream.avail_out = UInt32(out.count)
          let rc = inflate(&stream, Z_NO_FLUSH)
          return (rc, out.count - Int(stream.avail_out))
        }
        output.append(contentsOf: chunk[..<produced])
        if output.count > limit { return nil }
        if rc == Z_STREAM_END { return output }
        guard rc == Z_OK, produced > 0 || stream.avail_in > 0 else { return nil }
      }
    }
  }
}
