// Prints the CONSOLE_PASSWORD_HASH of a password read from standard input:
//   printf '%s' 'the password' | node services/console/src/hash-password.ts
import { text } from 'node:stream/consumers';
import { hashPassword } from './password.ts';

const password = (await text(process.stdin)).replace(/\r?\n$/, '');
if (password.length < 12) {
  process.stderr.write('the password needs at least 12 characters\n');
  process.exit(2);
}
process.stdout.write(`${await hashPassword(password)}\n`);
