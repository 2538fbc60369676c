"""Counting a person's clicks through a journey in the browser: every click, check or choice in a
list goes through ``Clicks``; typing is not a click. The README's "Journeys" quote these counts."""


class Clicks:
    def __init__(self):
        self.count = 0

    def click(self, locator) -> None:
        locator.click()
        self.count += 1

    def check(self, locator) -> None:
        locator.check()
        self.count += 1

    def choose(self, locator, **option) -> None:
        locator.select_option(**option)
        self.count += 1
