import FoundationEssentials

/// The one JSON encoder every report and inventory goes through: sorted keys (stable diffs),
/// pretty-printed, no escaped slashes.
public enum ReportJSON {
  public static func encode<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
  }

  /// One line, sorted keys, for JSON-lines output.
  public static func encodeLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
  }

  public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
  }

  /// The input is not UTF-8 text, so it cannot be JSON (RFC 8259 §8.1).
  public struct NotUTF8: Error, CustomStringConvertible {
    public var description: String { "not valid UTF-8" }
  }

  /// Decodes raw bytes (a file as read). When the decoder refuses them and they are not UTF-8,
  /// the error says so (`NotUTF8`) rather than "not valid JSON"; valid input is not checked
  /// twice.
  public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
    do {
      // The decoder reads the array in place: no second copy of a large input.
      return try bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress, raw.count > 0 else { return try JSONDecoder().decode(type, from: Data()) }
        return try JSONDecoder().decode(type, from: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none))
      }
    } catch DecodingError.dataCorrupted(let ctx) where ctx.codingPath.isEmpty && !isUTF8(bytes) {
      throw NotUTF8()
    }
  }

  static func isUTF8(_ bytes: [UInt8]) -> Bool {
    var decoder = UTF8()
    var it = bytes.makeIterator()
    while true {
      switch decoder.decode(&it) {
      case .scalarValue: continue
      case .emptyInput: return true
      case .error: return false
      }
    }
  }
}
