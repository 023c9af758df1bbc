"""Enough of an xterm to tell what a terminal shows after some output: text, CR/LF/BS/TAB, cursor moves, erasing,
inserting and deleting, scroll regions, origin mode, saved cursors, the alternate screen and a full reset. Colours
and every other sequence are read and ignored. Each character takes one cell."""
from __future__ import annotations

import codecs
import re

SEQUENCE = re.compile(r"\x1b\[([0-9;?<>=]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b([()#][0-9A-Za-z])"
                      r"|\x1b([78cDEMH=>])|([\x00-\x1f\x7f])")


class VtScreen:
    def __init__(self, rows: int, cols: int) -> None:
        self.rows, self.cols = rows, cols
        self._decode = codecs.getincrementaldecoder("utf-8")("replace").decode
        self._carry = ""
        self.main = self._blank_grid()
        self.alt = self._blank_grid()
        self.grid = self.main
        self._reset_state()

    def _blank_grid(self) -> list[list[str]]:
        return [[" "] * self.cols for _ in range(self.rows)]

    def _reset_state(self) -> None:
        self.row = self.col = 0
        self.top, self.bottom = 0, self.rows - 1
        self.origin = False
        self.saved = (0, 0, False)

    # ---- reading it ----
    def lines(self) -> list[str]:
        return ["".join(r).rstrip() for r in self.grid]

    def text(self) -> str:
        return "\n".join(self.lines())

    # ---- feeding it ----
    def feed(self, data: bytes) -> None:
        text = self._carry + self._decode(data)
        self._carry = ""
        pos = 0
        while pos < len(text):
            esc = text.find("\x1b", pos)
            ctl = next((i for i in range(pos, esc if esc >= 0 else len(text)) if text[i] < " " or text[i] == "\x7f"),
                       -1)
            stop = min(x for x in (esc, ctl, len(text)) if x >= 0)
            for ch in text[pos:stop]:
                self._put(ch)
            pos = stop
            if pos >= len(text):
                break
            match = SEQUENCE.match(text, pos)
            if match is None:
                if text[pos] == "\x1b" and len(text) - pos < 64:
                    self._carry = text[pos:]  # a sequence cut by the end of this chunk
                    return
                pos += 1
                continue
            self._sequence(match)
            pos = match.end()

    def _sequence(self, m: re.Match) -> None:
        if m.group(3) is not None:
            self._csi(m.group(1), m.group(3))
        elif m.group(5) is not None:
            self._esc(m.group(5))
        elif m.group(6) is not None:
            self._control(m.group(6))

    def _control(self, ch: str) -> None:
        if ch == "\r":
            self.col = 0
        elif ch in "\n\x0b\x0c":
            self._linefeed()
        elif ch == "\b":
            self.col = max(0, self.col - 1)
        elif ch == "\t":
            self.col = min(self.cols - 1, (self.col // 8 + 1) * 8)

    def _esc(self, ch: str) -> None:
        if ch == "7":
            self.saved = (self.row, self.col, self.origin)
        elif ch == "8":
            self.row, self.col, self.origin = self.saved
        elif ch == "c":
            self.main, self.alt = self._blank_grid(), self._blank_grid()
            self.grid = self.main
            self._reset_state()
        elif ch == "D":
            self._linefeed()
        elif ch == "E":
            self.col = 0
            self._linefeed()
        elif ch == "M":
            if self.row == self.top:
                self._scroll_down(1)
            else:
                self.row = max(0, self.row - 1)

    def _put(self, ch: str) -> None:
        if self.col >= self.cols:
            self.col = 0
            self._linefeed()
        self.grid[self.row][self.col] = ch
        self.col += 1

    def _linefeed(self) -> None:
        if self.row == self.bottom:
            self._scroll_up(1)
        elif self.row < self.rows - 1:
            self.row += 1

    def _scroll_up(self, n: int) -> None:
        for _ in range(n):
            del self.grid[self.top]
            self.grid.insert(self.bottom, [" "] * self.cols)

    def _scroll_down(self, n: int) -> None:
        for _ in range(n):
            del self.grid[self.bottom]
            self.grid.insert(self.top, [" "] * self.cols)

    def _move(self, row: int, col: int) -> None:
        if self.origin:
            self.row = min(max(self.top + row, self.top), self.bottom)
        else:
            self.row = min(max(row, 0), self.rows - 1)
        self.col = min(max(col, 0), self.cols - 1)

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith("?")
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?<>=").split(";")] if params else []
        first = nums[0] if nums else 0
        n = max(1, first)
        if private:
            if final in "hl":
                for mode in nums:
                    self._mode(mode, final == "h")
            return
        if final in "Hf":
            row = (nums[0] if len(nums) > 0 and nums[0] else 1) - 1
            col = (nums[1] if len(nums) > 1 and nums[1] else 1) - 1
            self._move(row, col)
        elif final == "A":
            self.row = max(self.top if self.row >= self.top else 0, self.row - n)
        elif final == "B":
            self.row = min(self.bottom if self.row <= self.bottom else self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, min(self.col, self.cols - 1) - n)
        elif final == "G":
            self.col = min(self.cols - 1, n - 1)
        elif final == "d":
            self._move(n - 1, self.col)
        elif final == "J":
            self._erase_display(first)
        elif final == "K":
            self._erase_line(first)
        elif final == "r":
            top = (nums[0] if len(nums) > 0 and nums[0] else 1) - 1
            bottom = (nums[1] if len(nums) > 1 and nums[1] else self.rows) - 1
            if top < bottom <= self.rows - 1:
                self.top, self.bottom = top, bottom
                self._move(0, 0)
        elif final == "L" and self.top <= self.row <= self.bottom:
            for _ in range(n):
                del self.grid[self.bottom]
                self.grid.insert(self.row, [" "] * self.cols)
        elif final == "M" and self.top <= self.row <= self.bottom:
            for _ in range(n):
                del self.grid[self.row]
                self.grid.insert(self.bottom, [" "] * self.cols)
        elif final == "@":
            line = self.grid[self.row]
            line[self.col:self.col] = [" "] * n
            del line[self.cols:]
        elif final == "P":
            line = self.grid[self.row]
            del line[self.col:self.col + n]
            line.extend([" "] * (self.cols - len(line)))
        elif final == "X":
            line = self.grid[self.row]
            for i in range(self.col, min(self.cols, self.col + n)):
                line[i] = " "
        elif final == "S":
            self._scroll_up(n)
        elif final == "T":
            self._scroll_down(n)

    def _mode(self, mode: int, on: bool) -> None:
        if mode == 6:
            self.origin = on
            self._move(0, 0)
        elif mode in (47, 1047, 1049):
            if on and self.grid is not self.alt:
                if mode == 1049:
                    self.saved = (self.row, self.col, self.origin)
                self.alt = self._blank_grid()
                self.grid = self.alt
            elif not on and self.grid is self.alt:
                self.grid = self.main
                if mode == 1049:
                    self.row, self.col, self.origin = self.saved

    def _erase_display(self, how: int) -> None:
        if how in (2, 3):
            for r in range(self.rows):
                self.grid[r] = [" "] * self.cols
            return
        self._erase_line(how)
        rows = range(self.row + 1, self.rows) if how == 0 else range(0, self.row)
        for r in rows:
            self.grid[r] = [" "] * self.cols

    def _erase_line(self, how: int) -> None:
        line = self.grid[self.row]
        span = range(self.col, self.cols) if how == 0 else range(0, min(self.col + 1, self.cols)) if how == 1 \
            else range(self.cols)
        for i in span:
            line[i] = " "
