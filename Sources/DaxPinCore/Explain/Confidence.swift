/// How sure the ranking is of one candidate cause.
public enum Confidence: String, CaseIterable, Codable, Sendable {
  case high, medium, low

  /// The confidence of a candidate's score (0–100).
  init(score: Int) {
    self = score >= 70 ? .high : score >= 40 ? .medium : .low
  }
}
