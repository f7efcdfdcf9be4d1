// A tiny element builder: text always goes in as text nodes, never as HTML, so nothing the
// server or the user wrote can become markup.

/// `h('button', {class: 'primary', onclick: fn}, 'Save')`. Attributes set to null, undefined or
/// false are left out; `on*` functions become listeners.
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'value') {
      element.value = value;
    } else if (name === 'checked') {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let ids = 0;
/// A fresh element id with a readable prefix.
export function uid(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
