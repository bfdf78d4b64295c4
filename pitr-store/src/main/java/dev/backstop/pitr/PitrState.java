package dev.backstop.pitr;

/** An addon's recoverable window, as customers see it (issue #16). */
public enum PitrState {
  /** No usable base yet, or the first base's WAL not yet archived to its end. */
  STARTING,
  STREAMING,
  /** WAL is missing since {@link PitrWindow#brokenSince()}; a fresh base restarts the window. */
  BROKEN,
  /** Not offered: Sandbox plans, MySQL. */
  UNAVAILABLE
}
