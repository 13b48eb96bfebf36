/// Undo actions, run last-in first-out exactly once: everything a probe maps, registers, opens or
/// creates is released on every path (errors and interrupts included) by `defer { cleanup.run() }`.
final class Cleanup {
  private var actions: [(String, () -> Void)] = []

  /// Registers the undo of something just acquired.
  func add(_ what: String, _ action: @escaping () -> Void) { actions.append((what, action)) }

  /// Runs every action, newest first, and forgets them.
  func run() {
    while let (_, action) = actions.popLast() { action() }
  }
}
