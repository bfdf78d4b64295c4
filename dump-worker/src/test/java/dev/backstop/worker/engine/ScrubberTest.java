package dev.backstop.worker.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ScrubberTest {

  @Test
  void a_password_its_escaped_forms_and_its_pieces_between_line_breaks_are_hidden() {
    Scrubber scrubber = Scrubber.hiding("first:piece\nnl-two\"\nab");

    assertThat(scrubber.scrub("unknown option '--nl-two\"' near first:piece and first\\:piece"))
        .isEqualTo("unknown option '--[hidden]' near [hidden] and [hidden]")
        // a piece shorter than 4 characters would hide letters of every word
        .doesNotContain("nl-two");
    assertThat(scrubber.scrub("about a table")).isEqualTo("about a table");
  }

  @Test
  void a_path_in_a_hidden_folder_becomes_its_file_name() {
    Scrubber scrubber = Scrubber.hiding().withFolder(Path.of("/var/lib/backstop/work"));

    assertThat(scrubber.scrub("password retrieved from file \"/var/lib/backstop/work/b1-123/pgpass\""))
        .isEqualTo("password retrieved from file \"pgpass\"");
    assertThat(scrubber.scrub("cannot write /var/lib/backstop/work")).isEqualTo("cannot write (work directory)");
  }
}
