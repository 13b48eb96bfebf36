import CVFIO
import Glibc

/// What daxpin does with signals (sigaction(2), pthread_sigmask(3), raise(3)), so that it never
/// leaves pins, temporary files or half a report behind, and never exits 0 when a signal cut a
/// write short.
///
/// - Every terminating signal a process can catch (`terminating`) gets a handler that only records
///   the first one caught. It is installed without SA_RESTART: a write blocked on a slow pipe, or
///   an open blocked on a FIFO, returns EINTR (or a short count), and the caller looks at the flag.
///   The probe polls it between steps; the output writers check it after every write and every
///   EINTR, remove their temporary file and end the process by that signal (`reraiseInterrupt`).
/// - SIGPIPE is ignored, so writing to a pipe whose reader has gone returns EPIPE, which the
///   writers report (`daxpin: standard output: EPIPE`, exit 2) instead of dying silently.
/// - SIGXFSZ is ignored, so a write past RLIMIT_FSIZE returns EFBIG instead of killing the process
///   with a temporary file left behind.
/// - A terminating signal that is already ignored when daxpin starts catching (nohup, a background
///   job of a non-interactive shell) stays ignored: whoever started daxpin asked for that.
/// - Until then, SIGQUIT has its default action (`restoreDefaults`): the Swift runtime's backtracer
///   takes it at startup, prints a "Program crashed" backtrace and lets the program go on.
/// - SIGKILL and SIGSTOP cannot be caught; SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGTRAP are
///   faults of daxpin itself and keep their default action.
public enum Signals {
  /// The catchable signals whose default action ends the process (SIGQUIT and SIGXCPU also dump
  /// core; re-raising them does too).
  public static let terminating: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU]

  /// Signals set to SIG_IGN so that the call that would have raised them returns an errno instead.
  public static let ignored: [Int32] = [SIGPIPE, SIGXFSZ]

  /// Signals the Swift runtime takes at startup for its crash reports although they are no fault of
  /// daxpin's: a user's SIGQUIT (Ctrl-\) would print a backtrace and the run would go on, to exit 0.
  public static let takenByRuntime: [Int32] = [SIGQUIT]

  /// Gives `takenByRuntime` back their default action (one that is ignored stays ignored), so a
  /// signal that arrives before `catchInterrupts()` ends daxpin by that signal. Call first thing in
  /// main.
  public static func restoreDefaults() {
    for sig in takenByRuntime { _ = cvfio_default_signal(sig) }
  }

  /// Installs the flag-setting handlers for `terminating` and ignores `ignored`. Idempotent: the
  /// probe calls it before it creates anything, the writers before their first write.
  public static func catchInterrupts() {
    for sig in terminating { _ = cvfio_catch_signal(sig) }
    for sig in ignored { _ = cvfio_ignore_signal(sig) }
  }

  /// The first signal caught since `catchInterrupts()`, or 0.
  public static var caughtSignal: Int32 { cvfio_interrupt_signal() }

  /// When a signal was caught: restores its default action and re-raises it, so the process ends
  /// by that signal (status 128 + N in a shell; 130 for SIGINT). Returns only when none was caught.
  public static func reraiseInterrupt() { cvfio_reraise_interrupt() }

  /// When a signal was caught: runs `cleanup` (close and unlink a temporary file), then ends the
  /// process by that signal. Returns only when none was caught.
  public static func endProcessIfCaught(cleanup: () -> Void = {}) {
    guard caughtSignal != 0 else { return }
    cleanup()
    reraiseInterrupt()
  }
}
