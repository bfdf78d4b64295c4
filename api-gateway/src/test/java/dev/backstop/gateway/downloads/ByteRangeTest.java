package dev.backstop.gateway.downloads;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ByteRangeTest {

  @ParameterizedTest(name = "''{0}'' of 1000 bytes: {1}")
  @CsvSource(delimiter = '|', nullValues = "NULL", value = {
      "NULL                          | whole",
      "bytes=0-0                     | 0-0",
      "bytes=0-999                   | 0-999",
      "bytes=10-                     | 10-999",
      "BYTES = 10-20                 | 10-20",
      "bytes=-1                      | 999-999",
      "bytes=-1000                   | 0-999",
      "bytes=-99999999999999999999   | 0-999",
      "bytes=999-99999999999999999999| 999-999",
      "bytes=000000000000000000000005-6 | 5-6",
      "bytes=5-2                     | whole",
      "bytes=99999999999999999999-99999999999999999998 | whole",
      "bytes=-                       | whole",
      "bytes=                        | whole",
      "bytes=1-2,4-5                 | whole",
      "bytes=+1-2                    | whole",
      "bytes=1 -2                    | whole",
      "bytes=١-٢                     | whole",
      "pages=1-2                     | whole",
      "bytes                         | whole",
      "bytes=1000-                   | unsatisfiable",
      "bytes=99999999999999999999-   | unsatisfiable",
      "bytes=-0                      | unsatisfiable"})
  void a_range_header_is_served_ignored_or_unsatisfiable(String header, String expected) {
    ByteRange range = ByteRange.of(header, 1000);
    String actual = switch (range) {
      case ByteRange.Whole w -> "whole";
      case ByteRange.Unsatisfiable u -> "unsatisfiable";
      case ByteRange.Part p -> p.start() + "-" + p.end();
    };
    assertThat(actual).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"bytes=0-", "bytes=-5"})
  void nothing_of_an_empty_archive_can_be_served(String header) {
    assertThat(ByteRange.of(header, 0)).isInstanceOf(ByteRange.Unsatisfiable.class);
  }
}
