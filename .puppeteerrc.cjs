/**
 * Puppeteer uses Debian's Chromium (/usr/bin/chromium, or CHROMIUM_PATH); it never downloads a
 * browser (this machine reaches no vendor site). See README "Setup".
 */
module.exports = { skipDownload: true };
