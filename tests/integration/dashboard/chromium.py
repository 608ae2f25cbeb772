"""Headless Chromium (Debian's ``chromium`` package) driven over the Chrome
DevTools Protocol with ``websocket-client``: enough of a browser driver for
the Horizon test (open a page, wait for the DOM, click like a user, type,
take a screenshot)."""

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

import websocket

BINARIES = ('chromium', 'chromium-browser', 'google-chrome')


class BrowserError(Exception):
    pass


def find_binary():
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless Chromium with one page."""

    def __init__(self, binary, width=1280, height=900, timeout=30):
        self.timeout = timeout
        self._ids = itertools.count(1)
        self.profile = tempfile.mkdtemp(prefix='pwnetizer-chromium-')
        self.log = open(os.path.join(self.profile, 'chromium.log'), 'w+')
        self.process = subprocess.Popen(
            [binary, '--headless=new', '--no-sandbox', '--disable-gpu',
             '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check',
             '--disable-extensions', '--disable-background-networking',
             '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=0',
             '--remote-allow-origins=*', '--user-data-dir=%s' % self.profile,
             '--window-size=%d,%d' % (width, height), 'about:blank'],
            stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.ws = websocket.create_connection(self._page_url(), timeout=timeout,
                                                  suppress_origin=True)
            self.call('Page.enable')
            self.call('Runtime.enable')
            self.call('Emulation.setDeviceMetricsOverride', width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
        except Exception:
            self.close()
            raise
        self.console = []

    def _page_url(self):
        port_file = os.path.join(self.profile, 'DevToolsActivePort')
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                raise BrowserError('chromium exited (%s): %s' % (self.process.returncode,
                                                                 self.output()))
            if os.path.exists(port_file):
                with open(port_file) as f:
                    port = f.readline().strip()
                if port:
                    break
            if time.monotonic() > deadline:
                raise BrowserError('chromium did not start: %s' % self.output())
            time.sleep(0.1)
        with urllib.request.urlopen('http://127.0.0.1:%s/json/list' % port) as response:
            targets = json.load(response)
        return next(t['webSocketDebuggerUrl'] for t in targets if t['type'] == 'page')

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def close(self):
        if getattr(self, 'ws', None):
            self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- the protocol -------------------------------------------------------

    def call(self, method, **params):
        message_id = next(self._ids)
        self.ws.send(json.dumps({'id': message_id, 'method': method, 'params': params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get('id') == message_id:
                if 'error' in message:
                    raise BrowserError('%s: %s' % (method, message['error']))
                return message.get('result', {})
            if message.get('method') == 'Runtime.consoleAPICalled':
                self.console.append(' '.join(str(a.get('value', a.get('description')))
                                             for a in message['params']['args']))
            elif message.get('method') == 'Runtime.exceptionThrown':
                details = message['params']['exceptionDetails']
                self.console.append('exception: %s' % details.get(
                    'exception', {}).get('description', details.get('text')))

    def evaluate(self, expression):
        result = self.call('Runtime.evaluate', expression=expression, returnByValue=True,
                           awaitPromise=True)
        if 'exceptionDetails' in result:
            raise BrowserError('%s: %s' % (expression, result['exceptionDetails']))
        return result['result'].get('value')

    def wait_for(self, expression, what=None, timeout=None):
        """Poll the JavaScript ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            try:
                value = self.evaluate(expression)
            except BrowserError:
                value = None    # e.g. while the page navigates
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError('timed out waiting for %s; console: %s'
                                   % (what or expression, self.console[-10:]))
            time.sleep(0.2)

    # -- a user -------------------------------------------------------------

    def open(self, url):
        self.call('Page.navigate', url=url)
        self.wait_for('document.readyState === "complete" && location.href === %s'
                      % json.dumps(url), 'the page %s' % url)

    def visible(self, selector):
        return self.evaluate(
            '(() => { const e = document.querySelector(%s);'
            ' return !!(e && e.offsetParent !== null && e.getClientRects().length); })()'
            % json.dumps(selector))

    def wait_visible(self, selector, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.visible(selector):
            if time.monotonic() > deadline:
                raise BrowserError('%s not visible; console: %s'
                                   % (selector, self.console[-10:]))
            time.sleep(0.2)

    def click(self, selector):
        """A mouse click in the middle of the (visible) element."""
        self.wait_visible(selector)
        box = self.evaluate(
            '(() => { const e = document.querySelector(%s); e.scrollIntoView({block: "center"});'
            ' const r = e.getBoundingClientRect();'
            ' return [r.left + r.width / 2, r.top + r.height / 2]; })()' % json.dumps(selector))
        x, y = box
        for kind in ('mouseMoved', 'mousePressed', 'mouseReleased'):
            self.call('Input.dispatchMouseEvent', type=kind, x=x, y=y, button='left',
                      clickCount=0 if kind == 'mouseMoved' else 1)

    def fill(self, selector, text):
        """Select the field's text and type ``text`` over it."""
        self.click(selector)
        self.evaluate('document.querySelector(%s).select()' % json.dumps(selector))
        self.call('Input.insertText', text=text)

    def text(self, selector):
        return self.evaluate('(() => { const e = document.querySelector(%s);'
                             ' return e ? e.innerText : null; })()' % json.dumps(selector))

    def screenshot(self, path):
        data = self.call('Page.captureScreenshot', format='png')['data']
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))
        return path
